package receivers

import "strings"

// IMEscape makes a label or annotation value inert in the China IM robots' markdown,
// cards and text: it can neither mention anyone (WeCom's <@userid>, Feishu's
// <at user_id="all">, DingTalk's @mobile) nor make markup (links, images, headings, HTML
// tags, entities that Feishu decodes into tags). The ASCII characters that start them
// become their full-width forms, which read the same to a person and mean nothing to the
// platforms. Mentions are ours, made from a receiver's `at` settings, never the data's.
var IMEscape = strings.NewReplacer(
	"<", "＜", ">", "＞", "[", "［", "]", "］", "@", "＠", "#", "＃", "&", "＆",
).Replace

// IMEscapeURL keeps a URL a working link target in IM markdown, `[text](url)`:
// percent-encoding the characters that would end the link or start markup.
var IMEscapeURL = strings.NewReplacer(
	"<", "%3C", ">", "%3E", "[", "%5B", "]", "%5D", "(", "%28", ")", "%29", "@", "%40",
	" ", "%20", `"`, "%22", "`", "%60", "\n", "%0A", "\r", "%0D",
).Replace
