package demovoice

// class is what a symbol of the phoneme_id_map does in the demo model: how
// long it lasts relative to the others and how its unit is played.
type class uint8

const (
	clsSilent    class = iota // pad, BOS, EOS, digits: no time, no sound
	clsMark                   // stress, length and other marks: no time of their own
	clsSpace                  // word boundary: a very short pause
	clsPause                  // punctuation: a pause (weight per symbol)
	clsVowel                  // stretched to its duration; stress and length lengthen it
	clsSonorant               // stretched
	clsFricative              // stretched
	clsStop                   // closure (silence) then the burst, played at its own speed
)

// symbol is one entry of the demo voices' phoneme_id_map. The id of a symbol
// is its index in inventory.
type symbol struct {
	r   rune
	cls class
	// weight is the symbol's relative duration (roughly milliseconds at
	// espeak-ng's default rate). Durations are scaled per sentence so that
	// the whole sentence lasts input_lengths × SamplesPerID × length_scale.
	weight float32
}

// Relative durations of the classes, and of the symbols that differ from
// their class.
var (
	classWeight = map[class]float32{
		clsSpace: 20, clsVowel: 80, clsSonorant: 60, clsFricative: 80, clsStop: 70,
	}
	symbolWeight = map[rune]float32{
		',': 160, ';': 160, ':': 160, // clause pauses inside a sentence
		'.': 25, '!': 25, '?': 25, // sentence end: the engine adds the pause between sentences
		's': 90, 'ʃ': 90, 'z': 70, 'v': 55, 'ð': 45, 'h': 55, 'ɦ': 55,
		'ɾ': 30, 'ɽ': 30, 'ʔ': 45,
	}
	// stressGain lengthens the vowel after a stress mark (espeak-ng writes
	// the mark right before the vowel); lengthGain the vowel before a length mark.
	stressGain = map[rune]float32{'ˈ': 0.35, 'ˌ': 0.1}
	lengthGain = map[rune]float32{'ː': 0.6, 'ˑ': 0.3}
)

// inventory is a Piper-style phoneme_id_map covering the IPA that espeak-ng
// produces for English and Korean (and most other espeak voices), ordered
// like Piper's: pad, BOS, EOS, space, punctuation, then phonemes by class.
// Which symbols actually sound depends on the language's unit recipes
// (units.go); the others are silent and take no time.
var inventory = buildInventory()

func buildInventory() []symbol {
	var inv []symbol
	add := func(cls class, rs string) {
		for _, r := range rs {
			w, ok := symbolWeight[r]
			if !ok {
				w = classWeight[cls]
			}
			inv = append(inv, symbol{r, cls, w})
		}
	}
	add(clsSilent, "_^$")
	add(clsSpace, " ")
	add(clsPause, `!'(),-.:;?"`)
	add(clsVowel, "iyɨʉɯuɪʏʊeøɘɵɤoəɚɝɛœɜɞʌɔæɐaɶɑɒᵻ")
	add(clsSonorant, "mnŋɲɳɴɱlɫɭʎʟrɹɻɾɽɺʀwjɥʋɰ")
	add(clsFricative, "fvszʃʒθðxɣhɦçʝɕʑχʁħʕɸβʂʐɧɬɮʍ")
	add(clsStop, "pbtdkgɡqɢcɟʈɖʔʦɓɗʄɠʛ")
	add(clsMark, "ˈˌːˑʰʲʷˤ˞\u0303\u0329\u032a\u032f\u030a\u0325↓↑")
	add(clsSilent, "0123456789")
	return inv
}
