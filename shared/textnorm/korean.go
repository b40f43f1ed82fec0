package textnorm

import (
	"regexp"
	"strings"
)

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
	{"&", regexp.MustCompile(`\s*&\s*`), func([]string) string { return " 앤드 " }},
}

func minusKo(m string) string {
	if m != "" {
		return "마이너스 "
	}
	return ""
}

func korean(m Mapped) Mapped { return apply(m, koreanRules) }
