// Package textnorm prepares what users type for phonemisation.
//
// espeak-ng reads plain numbers well in every language, so numbers are left
// to it. What it reads badly is what users actually write: "$49.95" becomes
// "dollar forty nine point nine five", "%" and "&" are read literally or
// skipped, and "Mr." ends a sentence. Normalize rewrites those for the
// voice's language; Split cuts long text into pieces of bounded length so
// that no single model run gets an unbounded input.
//
// Every function accepts any string (invalid UTF-8 included) without
// panicking.
package textnorm

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize cleans text, drops pictographs (DropPictographs) and expands
// symbols and abbreviations for the language of an espeak-ng voice or
// language code ("en-us", "en_US", "ko"). Languages without rules only get
// the clean-up. NormalizeMapped does the same and keeps the offset map.
func Normalize(text, lang string) string {
	return NormalizeMapped(NewMapped(text, 0), lang).String()
}

// NormalizeMapped is Normalize on derived text, keeping its map back to the
// original: each expansion maps to the span it was read from.
func NormalizeMapped(m Mapped, lang string) Mapped {
	m = DropPictographs(CleanMapped(m))
	switch langOf(lang) {
	case "en":
		m = apply(m, englishRules)
	case "ko":
		m = korean(m)
	}
	return collapse(m)
}

// Clean makes text valid NFC UTF-8, turns control characters and every kind
// of whitespace into single spaces, and trims the ends.
func Clean(text string) string { return CleanMapped(NewMapped(text, 0)).String() }

// CleanMapped is Clean on derived text, keeping its map.
func CleanMapped(m Mapped) Mapped {
	if !utf8.ValidString(m.text) {
		m = mapRunes(m, func(r rune) (string, bool) { return " ", r == utf8.RuneError })
	}
	m = nfc(m)
	m = mapRunes(m, func(r rune) (string, bool) {
		switch {
		case r == ' ':
			return "", false
		case unicode.IsSpace(r), unicode.IsControl(r):
			return " ", true
		case r == '\u200b', r == '\ufeff', r == '\u00ad': // zero-width space, BOM, soft hyphen
			return "", true
		case r == '‼':
			return "!!", true
		case r == '⁉':
			return "!?", true
		}
		return "", false
	})
	return collapse(m)
}

// nfc composes m to Unicode NFC, mapping each composed segment to the
// bytes it came from.
func nfc(m Mapped) Mapped {
	if norm.NFC.IsNormalString(m.text) {
		return m
	}
	b := newBuilder(m)
	var it norm.Iter
	it.InitString(norm.NFC, m.text)
	for !it.Done() {
		from := it.Pos()
		seg := string(it.Next())
		b.rewrite(seg, m, from, it.Pos())
	}
	return b.mapped()
}

func langOf(lang string) string {
	lang = strings.ToLower(lang)
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	return lang
}

// A rule rewrites every match of re with the result of repl. It is tried
// only when the text contains one of the characters of trigger (a cheap
// scan that spares most texts most regular expressions).
type rule struct {
	trigger string
	re      *regexp.Regexp
	repl    func(m []string) string
}

func apply(m Mapped, rules []rule) Mapped {
	for _, r := range rules {
		if !strings.ContainsAny(m.text, r.trigger) {
			continue
		}
		m = replaceAll(m, r.re, r.repl)
	}
	return m
}

// replaceAll rewrites every match of re in m with repl of its submatches,
// keeping the map (see builder.rewrite).
func replaceAll(m Mapped, re *regexp.Regexp, repl func(sub []string) string) Mapped {
	locs := re.FindAllStringSubmatchIndex(m.text, -1)
	if locs == nil {
		return m
	}
	b := newBuilder(m)
	at := 0
	for _, loc := range locs {
		sub := make([]string, len(loc)/2)
		for k := range sub {
			if loc[2*k] >= 0 {
				sub[k] = m.text[loc[2*k]:loc[2*k+1]]
			}
		}
		b.copy(m, at, loc[0])
		b.rewrite(repl(sub), m, loc[0], loc[1])
		at = loc[1]
	}
	b.copy(m, at, len(m.text))
	return b.mapped()
}

// currency describes how one currency symbol is read in English.
type currency struct{ one, many, subOne, subMany string }

var englishCurrencies = map[string]currency{
	"$": {"dollar", "dollars", "cent", "cents"},
	"€": {"euro", "euros", "cent", "cents"},
	"£": {"pound", "pounds", "penny", "pence"},
	"¥": {"yen", "yen", "", ""},
	"₩": {"won", "won", "", ""},
}

// Amounts like "$49.95", "$1,200", "€3.5", "$2.5 million" (optionally with
// a leading minus).
var moneyRe = regexp.MustCompile(`(-)?([$€£¥₩])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(\s+(?:thousand|million|billion|trillion)\b)?`)

func englishMoney(m []string) string {
	minus, sym, whole, frac, scale := m[1], m[2], strings.ReplaceAll(m[3], ",", ""), m[4], m[5]
	c := englishCurrencies[sym]
	var b strings.Builder
	if minus != "" {
		b.WriteString("minus ")
	}
	if scale != "" {
		// "$2.5 million" → "2.5 million dollars": the fraction is of the scale.
		b.WriteString(whole)
		if frac != "" {
			b.WriteString("." + frac)
		}
		b.WriteString(scale + " " + c.many)
		return b.String()
	}
	cents := ""
	if frac != "" && c.subMany != "" && len(frac) <= 2 {
		if len(frac) == 1 {
			frac += "0"
		}
		cents = strings.TrimLeft(frac, "0")
	} else if frac != "" {
		// Currencies without a minor unit, or more than two decimals: read
		// the amount as a decimal number.
		b.WriteString(whole + "." + frac + " " + c.many)
		return b.String()
	}
	w := strings.TrimLeft(whole, "0")
	switch {
	case w == "" && cents != "":
		// "$0.50" → "50 cents"
	case w == "1":
		b.WriteString("1 " + c.one)
	case w == "":
		b.WriteString("0 " + c.many)
	default:
		b.WriteString(w + " " + c.many)
	}
	if cents != "" {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), " ") {
			b.WriteString(" ")
		}
		if cents == "1" {
			b.WriteString("1 " + c.subOne)
		} else {
			b.WriteString(cents + " " + c.subMany)
		}
	}
	return b.String()
}

// englishAbbrev are expanded only before a following word, so a sentence
// that really ends in "Dr." is still read as the abbreviation.
var englishAbbrev = []struct{ abbr, full string }{
	{"Mr", "Mister"}, {"Mrs", "Missus"}, {"Ms", "Miz"}, {"Dr", "Doctor"}, {"Prof", "Professor"},
	{"Jr", "Junior"}, {"Sr", "Senior"}, {"St", "Saint"}, {"Mt", "Mount"}, {"Capt", "Captain"},
	{"Gen", "General"}, {"Sgt", "Sergeant"}, {"Lt", "Lieutenant"}, {"Col", "Colonel"},
	{"Gov", "Governor"}, {"Rep", "Representative"}, {"Sen", "Senator"}, {"Rev", "Reverend"},
	{"vs", "versus"}, {"approx", "approximately"}, {"dept", "department"}, {"est", "established"},
	{"Inc", "Incorporated"}, {"Ltd", "Limited"}, {"Corp", "Corporation"}, {"Ave", "Avenue"},
	{"Blvd", "Boulevard"}, {"Rd", "Road"}, {"Jan", "January"}, {"Feb", "February"},
	{"Aug", "August"}, {"Sept", "September"}, {"Oct", "October"}, {"Nov", "November"}, {"Dec", "December"},
}

var englishRules = func() []rule {
	rules := []rule{
		{"$€£¥₩", moneyRe, englishMoney},
		{"%", regexp.MustCompile(`(\d)\s?%`), func(m []string) string { return m[1] + " percent" }},
		{"&", regexp.MustCompile(`\s*&\s*`), func([]string) string { return " and " }},
		{"#", regexp.MustCompile(`(^|\s)#\s?(\d)`), func(m []string) string { return m[1] + "number " + m[2] }},
		{".", regexp.MustCompile(`\b[Nn]o\.\s?(\d)`), func(m []string) string { return "number " + m[1] }},
		{"@", regexp.MustCompile(`(\w)\s?@\s?(\w)`), func(m []string) string { return m[1] + " at " + m[2] }},
		{".", regexp.MustCompile(`\be\.g\.(\s|,|$)`), func(m []string) string { return "for example" + m[1] }},
		{".", regexp.MustCompile(`\bi\.e\.(\s|,|$)`), func(m []string) string { return "that is" + m[1] }},
		{".", regexp.MustCompile(`\betc\.(\s+[a-z])`), func(m []string) string { return "et cetera" + m[1] }},
		{".", regexp.MustCompile(`\betc\.`), func([]string) string { return "et cetera." }},
		{"°℃", regexp.MustCompile(`(\d)\s?(°C|℃)`), func(m []string) string { return m[1] + " degrees Celsius" }},
		{"°℉", regexp.MustCompile(`(\d)\s?(°F|℉)`), func(m []string) string { return m[1] + " degrees Fahrenheit" }},
		{"°", regexp.MustCompile(`(\d)\s?°`), func(m []string) string { return m[1] + " degrees" }},
		// A range between two numbers: "40–60" is "40 to 60".
		{"–—", regexp.MustCompile(`(\d)\s?[–—]\s?(\d)`), func(m []string) string { return m[1] + " to " + m[2] }},
	}
	// One pass for all abbreviations: an alternation of the abbreviations,
	// then a map lookup.
	full := make(map[string]string, len(englishAbbrev))
	alts := make([]string, 0, len(englishAbbrev))
	for _, a := range englishAbbrev {
		full[a.abbr] = a.full
		alts = append(alts, regexp.QuoteMeta(a.abbr))
	}
	rules = append(rules, rule{
		".", regexp.MustCompile(`\b(` + strings.Join(alts, "|") + `)\.(\s+)`),
		func(m []string) string { return full[m[1]] + m[2] },
	})
	return rules
}()

// Speakable reports whether normalised text has a letter or a digit. Text
// without any is punctuation or symbols only, which espeak-ng would read
// out by name ("!?" → "exclamation"): callers treat it as nothing to speak.
func Speakable(text string) bool {
	return strings.IndexFunc(text, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) >= 0
}

// SpeakableIn is the one rule for what can be spoken, shared by the API
// (which refuses the rest with 400 text_unspeakable), the engine and the
// web app (testdata/speakable.json holds the cases all of them pass): text
// that still has a letter or a digit after Normalize for the voice's
// language. Zero-width characters, punctuation and emoji alone (keycaps
// included: "1️⃣" is an emoji) have none; "&" has some in English ("and").
func SpeakableIn(text, lang string) bool {
	return Speakable(Normalize(text, lang))
}
