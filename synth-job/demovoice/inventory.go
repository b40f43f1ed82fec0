package demovoice

// symbol is one entry of the demo voices' phoneme_id_map, with the sound the
// demo model makes for it. The id of a symbol is its index in inventory.
type symbol struct {
	r      rune
	f1, f2 float32 // formant-like tone frequencies, Hz
	amp    float32 // overall amplitude
	voiced float32 // weight of the speaker's fundamental
}

// Amplitudes of the classes. The pad is near-silent but not zero so the
// output is never pure silence between phonemes; punctuation is a pause.
const (
	ampPad     = 0.004
	ampSpace   = 0.01
	ampPunct   = 0.02
	ampVowel   = 0.6
	ampSonor   = 0.45
	ampFric    = 0.25
	ampStop    = 0.35
	ampMark    = 0.12
	ampUnknown = 0.3
)

// inventory is a Piper-style phoneme_id_map covering the IPA that espeak-ng
// produces for English and Korean (and most other espeak voices), ordered
// like Piper's: pad, BOS, EOS, space, punctuation, then phonemes by class.
var inventory = buildInventory()

func buildInventory() []symbol {
	var inv []symbol
	add := func(r rune, f1, f2, amp, voiced float32) {
		inv = append(inv, symbol{r, f1, f2, amp, voiced})
	}
	add('_', 0, 0, ampPad, 1)
	add('^', 0, 0, ampPad, 1)
	add('$', 0, 0, ampPad, 1)
	add(' ', 0, 0, ampSpace, 1)
	for i, r := range []rune(`!'(),-.:;?"`) {
		add(r, 200+float32(i)*10, 400, ampPunct, 1)
	}
	// Vowels with approximate textbook F1/F2 (Hz).
	vowels := []struct {
		r      rune
		f1, f2 float32
	}{
		{'i', 280, 2250}, {'y', 280, 1800}, {'ɨ', 320, 1650}, {'ʉ', 320, 1500}, {'ɯ', 320, 1300},
		{'u', 310, 870}, {'ɪ', 400, 1900}, {'ʏ', 350, 1650}, {'ʊ', 450, 1030}, {'e', 400, 2100},
		{'ø', 400, 1600}, {'ɘ', 400, 1600}, {'ɵ', 400, 1400}, {'ɤ', 460, 1300}, {'o', 450, 800},
		{'ə', 500, 1500}, {'ɚ', 490, 1350}, {'ɝ', 490, 1350}, {'ɛ', 550, 1770}, {'œ', 550, 1500},
		{'ɜ', 560, 1480}, {'ɞ', 550, 1400}, {'ʌ', 620, 1200}, {'ɔ', 590, 880}, {'æ', 690, 1660},
		{'ɐ', 650, 1350}, {'a', 750, 1300}, {'ɶ', 700, 1200}, {'ɑ', 710, 1100}, {'ɒ', 650, 900},
		{'ᵻ', 350, 1700},
	}
	for _, v := range vowels {
		add(v.r, v.f1, v.f2, ampVowel, 1)
	}
	for i, r := range []rune("mnŋɲɳɴɱlɫɭʎʟrɹɻɾɽɺʀwjɥʋɰ") {
		add(r, 250+float32(i)*15, 900+float32(i)*55, ampSonor, 1)
	}
	for i, r := range []rune("fvszʃʒθðxɣhɦçʝɕʑχʁħʕɸβʂʐɧɬɮʍ") {
		voiced := float32(0.1)
		if i%2 == 1 {
			voiced = 0.6
		}
		add(r, 2400+float32(i)*60, 4200+float32(i)*80, ampFric, voiced)
	}
	for i, r := range []rune("pbtdkgɡqɢcɟʈɖʔʦɓɗʄɠʛ") {
		voiced := float32(0.15)
		if i%2 == 1 {
			voiced = 0.7
		}
		add(r, 300+float32(i)*40, 1700+float32(i)*90, ampStop, voiced)
	}
	// Stress, length and other marks: short and quiet.
	for i, r := range []rune("ˈˌːˑʰʲʷˤ˞\u0303\u0329\u032a\u032f\u030a\u0325↓↑") {
		add(r, 600+float32(i)*30, 1500+float32(i)*40, ampMark, 1)
	}
	for i, r := range []rune("0123456789") {
		add(r, 500+float32(i)*50, 1500+float32(i)*60, ampUnknown, 1)
	}
	return inv
}
