package textnorm

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Korean text front-end. espeak-ng reads every digit string in Korean text
// as a Sino-Korean number and switches to English for Latin letters, so
// "오후 3시" is read 삼시 and "티켓 2장" 이장. Before espeak-ng, korean writes
// numbers out in Hangul as a Korean speaker reads them:
//
//   - native numerals (한, 두, 세, … 아흔아홉) before native counters (시 for
//     the hour up to 12, 시간, 개, 명, 장, 살, 번, 마리, 잔, 권, 곡, …), 1 to 99;
//     스무 for 20, 첫 for the first (첫 번째);
//   - Sino-Korean numerals everywhere else: dates (년, 월 with 유월 and 시월,
//     일), minutes and seconds, money, ages in 세, floors, numbers from 100
//     on, decimals (삼 점 일사), numbers on their own; written in groups of
//     ten thousand, a space between groups (한글 맞춤법 제44항), 만, 천, 백, 십
//     without a leading 일;
//   - phone numbers digit by digit, 0 as 공;
//   - a counter written against its number gets a space (제43항: 세 개);
//   - Latin letters in capitals (acronyms: BTS, NCT, OK) spelled with the
//     letters' Korean names (비티에스). Names read as words (EXO, TWICE)
//     need a lexicon entry, which is applied before and wins.
//
// The ambiguous cases are decided by rule: 번 counts (세 번) unless a
// number label follows it (3번 출구 → 삼 번 출구); 대 counts machines (두
// 대) except in tens, an age group (20대 → 이십 대).
func korean(m Mapped) Mapped {
	m = apply(m, koreanRules)
	m = koreanNumbers(m)
	return koreanLetters(m)
}

var koreanRules = []rule{
	{"$", regexp.MustCompile(`(-)?\$\s?(\d[\d,]*(?:\.\d+)?)`), func(m []string) string {
		return minusKo(m[1]) + strings.ReplaceAll(m[2], ",", "") + " 달러"
	}},
	{"€", regexp.MustCompile(`(-)?€\s?(\d[\d,]*(?:\.\d+)?)`), func(m []string) string {
		return minusKo(m[1]) + strings.ReplaceAll(m[2], ",", "") + " 유로"
	}},
	{"₩", regexp.MustCompile(`(-)?₩\s?(\d[\d,]*)`), func(m []string) string {
		return minusKo(m[1]) + strings.ReplaceAll(m[2], ",", "") + "원"
	}},
	{"%", regexp.MustCompile(`(\d)\s?%`), func(m []string) string { return m[1] + " 퍼센트" }},
	{"°℃", regexp.MustCompile(`(\d)\s?(?:°C|℃|°)`), func(m []string) string { return m[1] + " 도" }},
	{"&", regexp.MustCompile(`\s*&\s*`), func([]string) string { return " 앤드 " }},
	// A range between two numbers: "40–60" is 사십에서 육십.
	{"–—~", regexp.MustCompile(`(\d)\s?[–—~]\s?(\d)`), func(m []string) string { return m[1] + "에서 " + m[2] }},
}

func minusKo(m string) string {
	if m != "" {
		return "마이너스 "
	}
	return ""
}

// Counters read with native numerals (1–99), and with Sino-Korean ones.
// Longest first where one is the start of another (시간 before 시).
var (
	nativeCounters = []string{
		"번째", "시간", "사람", "그릇", "켤레", "송이", "자루", "군데", "가지", "바퀴", "걸음", "모금",
		"그루", "봉지", "상자", "접시", "조각", "마디", "마리",
		"개", "명", "장", "살", "번", "잔", "권", "곡", "대", "병", "벌", "채", "척", "곳", "달", "해",
		"배", "줄", "통", "판", "알", "컵", "쌍", "시",
	}
	sinoCounters = []string{
		"개월", "주년", "년도", "학년", "인분", "번지", "교시", "페이지", "퍼센트", "달러", "유로",
		"킬로", "미터", "그램", "리터", "센티", "밀리",
		"년", "월", "일", "분", "초", "원", "층", "호", "회", "세", "위", "등", "점", "도", "주",
		"박", "쪽", "차", "기", "과", "화", "부", "인", "엔",
	}
	// Nouns after 번 that make it a label, read Sino-Korean (3번 출구).
	labelNouns = []string{"출구", "게이트", "버스", "선", "트랙", "홈", "타자", "선수", "문제", "방", "손님", "고객", "창구", "좌석", "마을버스"}
	// Written number units: "3만 원" is 삼만 원, and "1만" is 만.
	numberUnits = []string{"만", "천", "백", "십", "억", "조"}
)

var (
	koPhoneRe = regexp.MustCompile(`^(?:0\d{1,2}-\d{3,4}-\d{4}|1\d{3}-\d{4})`)
	koTimeRe  = regexp.MustCompile(`^(\d{1,2}):(\d{2})`)
	koDateRe  = regexp.MustCompile(`^(\d{4})[.\-/](\d{1,2})[.\-/](\d{1,2})\.?`)
	koNumRe   = regexp.MustCompile(`^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?`)
)

// koreanNumbers writes every number in m out in Hangul.
func koreanNumbers(m Mapped) Mapped {
	t := m.text
	if strings.IndexFunc(t, isASCIIDigit) < 0 {
		return m
	}
	b := newBuilder(m)
	at := 0 // copied up to here
	for i := 0; i < len(t); {
		c := t[i]
		start := i
		minus := false
		if c == '-' && i+1 < len(t) && isASCIIDigit(rune(t[i+1])) && (i == 0 || t[i-1] == ' ') {
			minus = true
			i++
			c = t[i]
		}
		if !isASCIIDigit(rune(c)) || (i > 0 && !minus && (isASCIIDigit(rune(t[i-1])) || t[i-1] == '.' || t[i-1] == ',')) {
			_, size := utf8.DecodeRuneInString(t[i:])
			i += size
			continue
		}
		n, reading := koreanNumberAt(t, i)
		if minus {
			reading = "마이너스 " + reading
		}
		b.copy(m, at, start)
		b.rewrite(reading, m, start, i+n)
		i += n
		at = i
	}
	b.copy(m, at, len(t))
	return b.mapped()
}

// koreanNumberAt reads the number that starts at t[i]: how many bytes it
// takes (with its counter, when one follows) and how it is read.
func koreanNumberAt(t string, i int) (int, string) {
	rest := t[i:]
	if loc := koPhoneRe.FindString(rest); loc != "" && !followedByDigit(rest, len(loc)) {
		groups := strings.Split(loc, "-")
		for k, g := range groups {
			groups[k] = digitsKo(g, "공")
		}
		return len(loc), strings.Join(groups, " ")
	}
	if sm := koDateRe.FindStringSubmatch(rest); sm != nil && !followedByDigit(rest, len(sm[0])) {
		mo, _ := strconv.Atoi(sm[2])
		d, _ := strconv.Atoi(sm[3])
		if mo >= 1 && mo <= 12 && d >= 1 && d <= 31 {
			return len(sm[0]), sinoKo(sm[1]) + " 년 " + monthKo(mo) + " " + sinoKo(sm[3]) + " 일"
		}
	}
	if sm := koTimeRe.FindStringSubmatch(rest); sm != nil && !followedByDigit(rest, len(sm[0])) {
		h, _ := strconv.Atoi(sm[1])
		mi, _ := strconv.Atoi(sm[2])
		if h <= 24 && mi < 60 {
			out := hourKo(h) + " 시"
			if mi > 0 {
				out += " " + sinoKo(sm[2]) + " 분"
			}
			return len(sm[0]), out
		}
	}
	sm := koNumRe.FindStringSubmatch(rest)
	whole, frac := strings.ReplaceAll(sm[1], ",", ""), sm[2]
	n := len(sm[0])
	if frac == "" && len(whole) > 1 && whole[0] == '0' {
		return n, digitsKo(whole, "공") // a code: 007
	}
	number := sinoKo(whole)
	if frac != "" {
		number += " 점 " + digitsKo(frac, "영")
	}
	// A counter, against the number or after one space.
	gap := 0
	if n < len(rest) && rest[n] == ' ' {
		gap = 1
	}
	after := rest[n+gap:]
	if u := prefixOf(after, numberUnits); u != "" && gap == 0 && frac == "" {
		// "3만": the unit is part of the number (삼만); 1 before 만, 천, 백,
		// 십 is not read.
		if whole == "1" && u != "억" && u != "조" {
			return n, ""
		}
		return n, number
	}
	sc := prefixOf(after, sinoCounters)
	if c := prefixOf(after, nativeCounters); c != "" && frac == "" && len(c) >= len(sc) {
		v, err := strconv.Atoi(whole)
		native := err == nil && v >= 1 && v <= 99
		switch c {
		case "시":
			native = err == nil && v <= 12
		case "대":
			native = native && v%10 != 0
		case "번":
			native = native && prefixOf(strings.TrimLeft(after[len(c):], " "), labelNouns) == ""
		}
		if native {
			reading := nativeKo(v, c == "번째")
			if c == "시" {
				reading = hourKo(v)
			}
			return n + gap + len(c), reading + " " + c
		}
		return n + gap + len(c), number + " " + c
	}
	if c := sc; c != "" {
		if c == "월" && frac == "" {
			if v, err := strconv.Atoi(whole); err == nil && v >= 1 && v <= 12 {
				return n + gap + len(c), monthKo(v)
			}
		}
		return n + gap + len(c), number + " " + c
	}
	return n, number
}

func followedByDigit(s string, n int) bool { return n < len(s) && isASCIIDigit(rune(s[n])) }

func isASCIIDigit(r rune) bool { return '0' <= r && r <= '9' }

// prefixOf returns the first of words that s starts with, "" for none.
func prefixOf(s string, words []string) string {
	for _, w := range words {
		if strings.HasPrefix(s, w) {
			return w
		}
	}
	return ""
}

var (
	sinoDigits  = []string{"영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"}
	sinoPlaces  = []string{"", "십", "백", "천"}
	sinoGroups  = []string{"", "만", "억", "조", "경"}
	nativeOnes  = []string{"", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉"}
	nativeTens  = []string{"", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔"}
	monthsKo    = []string{"", "일월", "이월", "삼월", "사월", "오월", "유월", "칠월", "팔월", "구월", "시월", "십일월", "십이월"}
	koreanAlpha = []string{"에이", "비", "씨", "디", "이", "에프", "지", "에이치", "아이", "제이", "케이", "엘", "엠",
		"엔", "오", "피", "큐", "알", "에스", "티", "유", "브이", "더블유", "엑스", "와이", "제트"}
)

// digitsKo reads a digit string one digit at a time, zero as zero.
func digitsKo(digits, zero string) string {
	var b strings.Builder
	for _, c := range digits {
		if c == '0' {
			b.WriteString(zero)
		} else {
			b.WriteString(sinoDigits[c-'0'])
		}
	}
	return b.String()
}

// sinoKo reads a whole number (ASCII digits) in Sino-Korean numerals, in
// groups of ten thousand separated by spaces: 123456789 is
// "일억 이천삼백사십오만 육천칠백팔십구". Beyond 경 it reads digit by digit.
func sinoKo(digits string) string {
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "영"
	}
	if len(digits) > 4*len(sinoGroups) {
		return digitsKo(digits, "영")
	}
	var groups []string
	for g := 0; len(digits) > 0; g++ {
		k := max(len(digits)-4, 0)
		part := digits[k:]
		digits = digits[:k]
		v, _ := strconv.Atoi(part)
		if v == 0 {
			continue
		}
		s := sinoGroup(part)
		if s == "일" && g == 1 {
			s = "" // 만, not 일만
		}
		groups = append([]string{s + sinoGroups[g]}, groups...)
	}
	return strings.Join(groups, " ")
}

// sinoGroup reads up to four digits: 1 before 십, 백, 천 is not read.
func sinoGroup(part string) string {
	var b strings.Builder
	for k, c := range part {
		place := len(part) - 1 - k
		d := int(c - '0')
		if d == 0 {
			continue
		}
		if d != 1 || place == 0 {
			b.WriteString(sinoDigits[d])
		}
		b.WriteString(sinoPlaces[place])
	}
	return b.String()
}

// nativeKo reads 1–99 in native numerals in their form before a counter
// (한, 두, 세, 네, 스무); ordinal gives 첫 for 1 (첫 번째).
func nativeKo(v int, ordinal bool) string {
	switch {
	case v == 1 && ordinal:
		return "첫"
	case v == 20:
		return "스무"
	}
	return nativeTens[v/10] + nativeOnes[v%10]
}

// hourKo reads the hour of a time: native up to 12, Sino-Korean after.
func hourKo(h int) string {
	if h >= 1 && h <= 12 {
		return nativeKo(h, false)
	}
	return sinoKo(strconv.Itoa(h))
}

// monthKo names a month: 6 and 10 drop their final consonant (유월, 시월).
func monthKo(mo int) string { return monthsKo[mo] }

// koreanLetters spells runs of capital Latin letters (acronyms) with the
// letters' Korean names: "BTS의" is 비티에스의.
func koreanLetters(m Mapped) Mapped {
	t := m.text
	if strings.IndexFunc(t, func(r rune) bool { return 'A' <= r && r <= 'Z' }) < 0 {
		return m
	}
	b := newBuilder(m)
	at := 0
	for i := 0; i < len(t); {
		if !isASCIILetter(t[i]) {
			i++
			continue
		}
		j := i
		for j < len(t) && isASCIILetter(t[j]) {
			j++
		}
		word := t[i:j]
		if strings.ToUpper(word) == word && len(word) <= maxAcronym && !letterAround(t, i, j) {
			var sp strings.Builder
			for _, c := range word {
				sp.WriteString(koreanAlpha[c-'A'])
			}
			b.copy(m, at, i)
			b.write(sp.String(), m, i, j)
			at = j
		}
		i = j
	}
	b.copy(m, at, len(t))
	return b.mapped()
}

// maxAcronym is the longest run of capitals spelled out: longer ones are
// more likely words written in capitals ("SARANGHAE") than acronyms.
const maxAcronym = 6

// letterAround reports whether a non-ASCII letter that is not Hangul
// touches t[i:j] (a word in another script, "ÉCOLE").
func letterAround(t string, i, j int) bool {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(t[:i])
		if unicode.IsLetter(r) && !unicode.Is(unicode.Hangul, r) {
			return true
		}
	}
	if j < len(t) {
		r, _ := utf8.DecodeRuneInString(t[j:])
		if unicode.IsLetter(r) && !unicode.Is(unicode.Hangul, r) {
			return true
		}
	}
	return false
}

func isASCIILetter(c byte) bool { return 'A' <= c&^0x20 && c&^0x20 <= 'Z' }
