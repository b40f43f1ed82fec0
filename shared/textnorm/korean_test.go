package textnorm

import (
	"strings"
	"testing"
)

// TestKoreanReadings checks the Hangul reading the Korean front-end writes
// for each case, written from these references' rules (not from the code):
//
//   - [맞춤법] 한글 맞춤법 (문화체육관광부 고시 제2017-12호): 제43항, a unit
//     noun is written apart from its number (한 개, 차 한 대, 열 살; 두시
//     삼십분 may be joined, we keep the rule's spaced form); 제44항, numbers
//     are written in groups of 만 with spaces between (십이억 삼천사백오십육만
//     칠천팔백구십팔); 제52항, the 속음 of 六月 and 十月 is written 유월, 시월.
//   - [Yeon & Brown] Jaehoon Yeon and Lucien Brown, Korean: A Comprehensive
//     Grammar (Routledge, 2011), ch. 14 (numbers): native numerals count
//     things, people, age in 살, hours and times with their counters up to
//     99, taking the forms 한, 두, 세, 네, 스무 before a counter; Sino-Korean
//     numerals read years, months, days, minutes, seconds, money, floors,
//     numbers on their own and everything from 100; 첫 번째 is the first.
//   - [Korean numerals] "Korean numerals", Wikipedia: hours 1–12 native,
//     13–24 Sino-Korean (십칠 시); 세 (age) Sino-Korean against 살 native; 열 번
//     "ten times" against 십 번 "number ten"; 만 and 천, 백, 십 read without 일,
//     억 with it (일억); decimals 점 then digits one by one.
//   - [전화] Korean phone numbers are read digit by digit, 0 as 공 (the
//     Korean numerals article, "공" for zero in phone numbers).
//   - Latin letters: their Korean names as in 표준국어대사전 (에이, 비, 디, …,
//     더블유, 엑스, 와이, 제트), with C and R as everyday speech says them
//     (씨, 알; the dictionary lists 시, 아르).
func TestKoreanReadings(t *testing.T) {
	for _, tt := range []struct{ rule, in, want string }{
		// Native numerals with native counters [Yeon & Brown].
		{"hour, native", "오후 3시에 만나요", "오후 세 시에 만나요"},
		{"hour 1", "1시", "한 시"},
		{"hour 2", "2시", "두 시"},
		{"hour 4", "4시", "네 시"},
		{"hour 12", "12시", "열두 시"},
		{"hour 13, Sino [Korean numerals]", "13시", "십삼 시"},
		{"hour 17, Sino [Korean numerals]", "17시", "십칠 시"},
		{"hour 0", "0시", "영 시"},
		{"hours as a duration", "2시간", "두 시간"},
		{"tickets", "티켓 2장", "티켓 두 장"},
		{"things", "사과 3개", "사과 세 개"},
		{"people", "학생 5명", "학생 다섯 명"},
		{"people, 사람", "4사람", "네 사람"},
		{"age in 살", "20살", "스무 살"},
		{"age 21", "21살", "스물한 살"},
		{"age 35", "35살", "서른다섯 살"},
		{"times", "3번 했어요", "세 번 했어요"},
		{"ordinal first", "1번째", "첫 번째"},
		{"ordinal second", "2번째", "두 번째"},
		{"ordinal eleventh", "11번째", "열한 번째"},
		{"animals", "고양이 2마리", "고양이 두 마리"},
		{"glasses", "커피 3잔", "커피 세 잔"},
		{"books", "책 4권", "책 네 권"},
		{"songs", "노래 10곡", "노래 열 곡"},
		{"cars", "차 2대", "차 두 대"},
		{"bottles", "맥주 6병", "맥주 여섯 병"},
		{"months as a duration", "3달", "세 달"},
		{"a counter after a space", "2 개", "두 개"},
		{"native up to 99", "99개", "아흔아홉 개"},
		{"native 40", "40명", "마흔 명"},
		{"native 50", "50명", "쉰 명"},
		{"native 60", "60개", "예순 개"},
		{"native 70", "70개", "일흔 개"},
		{"native 80", "80개", "여든 개"},
		{"native 90", "90개", "아흔 개"},
		{"native 30", "30살", "서른 살"},
		{"native 17", "17살", "열일곱 살"},
		{"native 18", "18개", "열여덟 개"},
		{"native 16", "16개", "열여섯 개"},
		{"with a particle", "2명이 왔어요", "두 명이 왔어요"},
		// Sino-Korean from 100 [Yeon & Brown] [Korean numerals].
		{"100 things", "100개", "백 개"},
		{"101 people", "101명", "백일 명"},
		{"150 people", "150명", "백오십 명"},
		// Sino-Korean for dates, minutes, money and the rest [Yeon & Brown].
		{"date", "2024년 6월 10일", "이천이십사 년 유월 십 일"},
		{"June [맞춤법 52]", "6월", "유월"},
		{"October [맞춤법 52]", "10월", "시월"},
		{"November", "11월", "십일월"},
		{"January", "1월", "일월"},
		{"day", "25일", "이십오 일"},
		{"ISO date", "2024-06-10", "이천이십사 년 유월 십 일"},
		{"dotted date", "2023.10.3.", "이천이십삼 년 시월 삼 일"},
		{"minutes", "30분", "삼십 분"},
		{"seconds", "15초", "십오 초"},
		{"time of day", "3시 30분", "세 시 삼십 분"},
		{"clock time", "3:05", "세 시 오 분"},
		{"clock time 24h", "15:30", "십오 시 삼십 분"},
		{"on the hour", "9:00", "아홉 시"},
		{"won", "5,000원", "오천 원"},
		{"won sign", "₩1,000", "천 원"},
		{"dollars", "$49.95", "사십구 점 구오 달러"},
		{"만 without 일 [Korean numerals]", "10000원", "만 원"},
		{"a written 만", "3만 원", "삼만 원"},
		{"a written 1만", "1만 원", "만 원"},
		{"age in 세, Sino [Korean numerals]", "20세", "이십 세"},
		{"floor", "3층", "삼 층"},
		{"room", "502호", "오백이 호"},
		{"grade", "2학년", "이 학년"},
		{"months as a count of months", "3개월", "삼 개월"},
		{"weeks", "2주", "이 주"},
		{"rank", "1위", "일 위"},
		{"percent", "50%", "오십 퍼센트"},
		{"degrees", "20°C", "이십 도"},
		{"a range", "40–60°C", "사십에서 육십 도"},
		{"below zero", "-5도", "마이너스 오 도"},
		{"a number on its own", "3", "삼"},
		{"zero", "0", "영"},
		{"ten", "10", "십"},
		{"thousands", "1,234", "천이백삼십사"},
		{"groups of 만 [맞춤법 44]", "1234567898", "십이억 삼천사백오십육만 칠천팔백구십팔"},
		{"억 with 일 [Korean numerals]", "100000000", "일억"},
		{"decimal", "3.14", "삼 점 일사"},
		{"decimal below one", "0.5", "영 점 오"},
		{"number label [Korean numerals]", "3번 출구", "삼 번 출구"},
		{"age group in tens", "20대 여성", "이십 대 여성"},
		// Phone numbers digit by digit [전화].
		{"mobile", "010-1234-5678", "공일공 일이삼사 오육칠팔"},
		{"Seoul", "02-123-4567", "공이 일이삼 사오육칠"},
		{"call centre", "1588-1234", "일오팔팔 일이삼사"},
		{"a code with a leading zero", "007", "공공칠"},
		// Latin acronyms in Korean letters.
		{"acronym", "BTS의 노래", "비티에스의 노래"},
		{"acronym NCT", "NCT 127", "엔씨티 백이십칠"},
		{"OK", "OK", "오케이"},
		{"a word in lower case is left to espeak-ng", "hello 친구", "hello 친구"},
		{"mixed case is a word", "iPhone 15", "iPhone 십오"},
		{"one capital", "A형", "에이형"},
	} {
		t.Run(tt.rule, func(t *testing.T) {
			if got := Normalize(tt.in, "ko"); got != tt.want {
				t.Errorf("Normalize(%q, ko) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// The Korean rules are for Korean voices only: an English voice reads
// digits itself.
func TestKoreanRulesOnlyForKorean(t *testing.T) {
	if got := Normalize("3시 BTS", "en-us"); got != "3시 BTS" {
		t.Errorf("English voice: %q", got)
	}
}

// Each word of the normalised text maps back to what the fan typed
// (issue 18 item 1): its source span slices the original text back to the
// token it was read from, in English, Korean and mixed texts.
func TestWordsMapBackToTheText(t *testing.T) {
	for _, tt := range []struct {
		name, lang, text string
		want             []string // word=original slice
	}{
		{"English symbols and numbers", "en-us", "It's 40–60°C, costs $49.95 & 50% off!",
			[]string{"It's=It's", "40=40", "to=–", "60=60", "degrees=°C", "Celsius,=°C,", "costs=costs",
				"49=$49.95", "dollars=$49.95", "95=$49.95", "cents=$49.95", "and=&", "50=50", "percent=%", "off!=off!"}},
		{"abbreviations", "en-us", "Dr. Kim met Mr. Lee.", []string{"Doctor=Dr.", "Kim=Kim", "met=met", "Mister=Mr.", "Lee.=Lee."}},
		{"Korean numbers and counters", "ko", "오후 3시 30분에 티켓 2장, ₩5,000!",
			[]string{"오후=오후", "세=3", "시=시", "삼십=30", "분에=분에", "티켓=티켓", "두=2", "장,=장,", "오천=₩5,000", "원!=₩5,000!"}},
		{"Korean date, phone and acronym", "ko", "2024년 6월 BTS 010-1234-5678",
			[]string{"이천이십사=2024", "년=년", "유월=6월", "비티에스=BTS", "공일공=010-1234-5678", "일이삼사=010-1234-5678", "오육칠팔=010-1234-5678"}},
		{"mixed, with emoji and spacing", "ko", " Hana  3명 💜💜 OK ",
			[]string{"Hana=Hana", "세=3", "명=명", "오케이=OK"}},
		{"decomposed Hangul is composed and still maps", "ko", "\u1112\u1161\u11ab 2개",
			[]string{"한=\u1112\u1161\u11ab", "두=2", "개=개"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := NormalizeMapped(NewMapped(tt.text, 0), tt.lang)
			var got []string
			for _, w := range m.Words() {
				got = append(got, w.Text+"="+tt.text[w.Source.Start:w.Source.End])
			}
			if strings.Join(got, " | ") != strings.Join(tt.want, " | ") {
				t.Errorf("words of %q\n got %q\nwant %q", m.String(), got, tt.want)
			}
		})
	}
}

func TestDroppedEmojiAreRemembered(t *testing.T) {
	text := "Love you 💜💜💜 1️⃣ ok"
	m := NormalizeMapped(NewMapped(text, 10), "en-us")
	if m.String() != "Love you ok" {
		t.Fatalf("normalised %q", m.String())
	}
	var dropped []string
	for _, d := range m.Dropped() {
		dropped = append(dropped, text[d.Start-10:d.End-10])
	}
	if strings.Join(dropped, "|") != "💜💜💜|1️⃣" {
		t.Errorf("dropped %q", dropped)
	}
}
