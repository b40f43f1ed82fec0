package phonemize_test

import (
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/chorus-voice/chorus/synth-job/phonemize"
)

// FuzzTextIDs maps arbitrary text through a phoneme_id_map built from
// arbitrary symbols: no panic, the Piper layout ^ _ p1 _ … pn _ $ always
// holds, every known phoneme appears with its id, and every unknown one is
// counted as missing, never silently dropped or mapped to a wrong id.
func FuzzTextIDs(f *testing.F) {
	f.Add("həlˈoʊ wˈɜːld!", "həloʊwɜːld ˈ!")
	f.Add("Café déjà vu", "abcdefghijklmnopqrstuvwxyz ")
	f.Add("안녕하세요", "안")
	f.Add("", "a")
	f.Add("^_$", "^_$")
	f.Add("\xff\xfe x", "x")
	f.Fuzz(func(t *testing.T, text, symbols string) {
		m := phonemize.IDMap{"^": {1}, "_": {0}, "$": {2}}
		next := int64(3)
		for _, r := range norm.NFD.String(symbols) {
			if _, ok := m[string(r)]; !ok {
				m[string(r)] = []int64{next}
				next++
			}
		}
		for _, s := range phonemize.Text(text) {
			if len(s) == 0 || unicode.IsSpace(s[0]) || unicode.IsSpace(s[len(s)-1]) {
				t.Fatalf("sentence %q is empty or not trimmed", s)
			}
			ids, missing := phonemize.IDs(s, m)
			if len(ids) < 3 || ids[0] != 1 || ids[1] != 0 || ids[len(ids)-1] != 2 {
				t.Fatalf("layout of %v for %q", ids, s)
			}
			k := 2
			lost := map[rune]int{}
			for _, r := range s {
				want, ok := m[string(r)]
				if !ok {
					lost[r]++
					continue
				}
				if k+1 >= len(ids) || ids[k] != want[0] || ids[k+1] != 0 {
					t.Fatalf("phoneme %q: ids %v at %d, want %d then pad", r, ids, k, want[0])
				}
				k += 2
			}
			if k != len(ids)-1 {
				t.Fatalf("%d ids for %q, layout needs %d", len(ids), s, k+1)
			}
			if len(lost) != len(missing) {
				t.Fatalf("missing %v, want %v", missing, lost)
			}
			for r, n := range lost {
				if missing[r] != n {
					t.Fatalf("missing %v, want %v", missing, lost)
				}
			}
		}
	})
}
