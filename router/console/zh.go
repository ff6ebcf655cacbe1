package console

// chinese are the console's words in Simplified Chinese, keyed by their English.
var chinese = map[string]string{
	"Overview":                     "概览",
	"Notifications":                "通知",
	"Notification":                 "通知",
	"Dead letters":                 "死信",
	"Watchdog":                     "看门狗",
	"Routing":                      "路由",
	"Receivers":                    "接收者",
	"Audit log":                    "审计日志",
	"Log in":                       "登录",
	"Log out":                      "退出",
	"User":                         "用户",
	"Password":                     "密码",
	"viewer":                       "只读",
	"operator":                     "操作员",
	"admin":                        "管理员",
	"Wrong user name or password.": "用户名或密码错误。",
	"Too many failed logins from this address; wait a minute.": "此地址登录失败次数过多，请稍候一分钟。",
	"The login form expired; try again.":                       "登录表单已过期，请重试。",
}
