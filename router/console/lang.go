package console

import (
	"net/http"
	"strings"

	"golang.org/x/text/language"
)

// Lang is a language the console speaks.
type Lang string

// The console's languages.
const (
	English Lang = "en"
	Chinese Lang = "zh"
)

// LangCookie keeps the language chosen with the switch.
const LangCookie = "alertrouter_lang"

var matcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

// LangOf is the language of r: the switch's choice (?lang=, then the cookie), else the best
// of Accept-Language, else English.
func LangOf(r *http.Request) Lang {
	for _, v := range []string{r.URL.Query().Get("lang"), cookie(r, LangCookie)} {
		switch Lang(v) {
		case English, Chinese:
			return Lang(v)
		}
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return English
	}
	if _, i, conf := matcher.Match(tags...); conf != language.No && i == 1 {
		return Chinese
	}
	return English
}

func cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// Other is the language the switch offers.
func (l Lang) Other() Lang {
	if l == Chinese {
		return English
	}
	return Chinese
}

// Name is the language's name, in itself.
func (l Lang) Name() string {
	if l == Chinese {
		return "中文"
	}
	return "English"
}

// T is text in l: texts are written in English, and the Chinese ones looked up.
func (l Lang) T(text string) string {
	if l != Chinese {
		return text
	}
	if zh, ok := chinese[strings.TrimSpace(text)]; ok {
		return zh
	}
	return text
}
