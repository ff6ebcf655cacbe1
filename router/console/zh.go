package console

// chinese are the console's words in Simplified Chinese, keyed by their English.
// TestEveryTextHasItsChinese keeps it complete.
var chinese = map[string]string{
	// Pages.
	"Overview":      "概览",
	"Notifications": "通知",
	"Notification":  "通知",
	"Dead letters":  "死信",
	"Watchdog":      "看门狗",
	"Routing":       "路由",
	"Receivers":     "接收者",
	"Audit log":     "审计日志",
	"Alert":         "告警",
	"Log in":        "登录",
	"Log out":       "退出",
	"User":          "用户",
	"Password":      "密码",

	// Roles.
	"viewer":   "只读",
	"operator": "操作员",
	"admin":    "管理员",

	// Login.
	"Wrong user name or password.":                             "用户名或密码错误。",
	"Too many failed logins from this address; wait a minute.": "此地址登录失败次数过多，请稍候一分钟。",
	"The login form expired; try again.":                       "登录表单已过期，请重试。",

	// States and outcomes.
	"pending":   "待发送",
	"sent":      "已发送",
	"dead":      "已放弃",
	"accepted":  "已接收",
	"retry":     "失败，将重试",
	"throttled": "被限流",
	"expired":   "已过期",
	"folded":    "并入摘要发送",
	"discarded": "已丢弃",
	"firing":    "告警中",
	"resolved":  "已恢复",
	"any":       "全部",

	// Columns and fields.
	"Receiver":              "接收者",
	"Route":                 "路由",
	"Host group":            "主机组",
	"Alert name":            "告警名称",
	"Label matchers":        "标签匹配",
	"Status":                "状态",
	"Since":                 "起始",
	"Until":                 "截止",
	"Filter":                "筛选",
	"Accepted":              "接收时间",
	"Alerts":                "告警",
	"Attempts":              "尝试次数",
	"Last error":            "最近错误",
	"Older":                 "更早",
	"Nothing here.":         "暂无内容。",
	"From Alertmanager":     "来自 Alertmanager",
	"Retried as":            "重试为",
	"Sent in the digest of": "并入以下摘要发送",
	"Timeline":              "时间线",
	"When":                  "时间",
	"What":                  "事件",
	"Took":                  "耗时",
	"Details":               "详情",
	"suppressed":            "已去重",
	"from %s: webhooks %d, alerts %d, the last at %s":                                                "来自 %s：webhook %d 次，告警 %d 条，最近一次在 %s",
	"already sent: a copy from the other Alertmanager of a pair, or a repeat within repeat_interval": "已发送过：来自成对部署的另一台 Alertmanager 的副本，或 repeat_interval 内的重复",
	"a late copy of an episode already settled":                                                      "已结束的告警周期迟到的副本",
	"resolved, and the receiver does not send resolutions":                                           "已恢复，而该接收者不发送恢复通知",
	"resolved, and its firing was never sent here":                                                   "已恢复，但其告警从未发送到这里",
	"Error":                               "错误",
	"Labels":                              "标签",
	"Annotations":                         "注解",
	"Started":                             "开始时间",
	"Fingerprint":                         "指纹",
	"Message, as the receiver renders it": "消息（按接收者模板渲染）",

	// Dead letters.
	"Notifications that were given up on. Retrying one enqueues it again as a new notification; discarding one takes it off this list. Both are recorded in the audit log.": "已放弃发送的通知。重试会将其作为新通知重新入队；丢弃会将其移出此列表。两者都会记入审计日志。",
	"Retry":                            "重试",
	"Discard":                          "丢弃",
	"Retry selected":                   "重试所选",
	"Discard selected":                 "丢弃所选",
	"Retry all that match the filters": "重试所有符合筛选条件的通知",

	// Overview.
	"By receiver and host group":             "按接收者和主机组",
	"Last hour":                              "最近一小时",
	"Last day":                               "最近一天",
	"Waiting now":                            "当前待发送",
	"Pending":                                "待发送",
	"Oldest":                                 "最早",
	"Next due":                               "下次发送",
	"No notifications in the last day.":      "最近一天没有通知。",
	"Paused receivers":                       "暂停的接收者",
	"None: every receiver is being sent to.": "无：所有接收者都在正常发送。",
	"Last errors":                            "最近错误",
	"No failed attempts in the last day.":    "最近一天没有失败的发送。",
	"Notifications per hour, last day":       "每小时通知数（最近一天）",
	"Notifications per hour, last week":      "每小时通知数（最近一周）",

	// Alert.
	"One alert, by its fingerprint, across receivers and episodes.": "按指纹查看同一条告警：在各接收者处、各告警周期中的全部记录。",
	"What each receiver last got":                                   "各接收者最近收到的状态",
	"Episode started":                                               "本周期开始",
	"Notifications that carried it":                                 "包含此告警的通知",

	// Watchdog.
	"The watchdog is not configured: add a watchdog section to the config to watch Prometheus and the heartbeat.": "看门狗未配置：在配置中添加 watchdog 段以监控 Prometheus 和心跳。",
	"Targets":                      "监控目标",
	"Kind":                         "类型",
	"Name":                         "名称",
	"State":                        "状态",
	"Failures":                     "失败次数",
	"Last start":                   "最近启动",
	"Last probe":                   "最近探测",
	"Problems":                     "问题",
	"up":                           "正常",
	"down":                         "宕机",
	"unknown":                      "未知",
	"crash-looping":                "反复崩溃重启",
	"config reload failed":         "配置重载失败",
	"no Alertmanager":              "没有 Alertmanager",
	"Heartbeats":                   "心跳",
	"Source":                       "来源",
	"Last seen":                    "最近收到",
	"missing":                      "缺失",
	"on time":                      "按时",
	"No heartbeat seen yet.":       "尚未收到心跳。",
	"The watchdog's notifications": "看门狗发出的通知",

	// Routing.
	"Route tester": "路由测试",
	"An alert's labels, one name=value a line: where would it go?": "输入告警标签，每行一个 name=value：它会被发往哪里？",
	"Running configuration":      "运行中的配置",
	"As loaded, secrets hidden.": "当前加载的配置，密钥已隐藏。",

	// Receivers.
	"Integration":      "集成",
	"Sent, last day":   "最近一天已发送",
	"Dead, last day":   "最近一天已放弃",
	"Paused until":     "暂停至",
	"Test":             "测试",
	"Send a test":      "发送测试",
	"Template preview": "模板预览",
	"A stored notification as a receiver would render it now, with its templates in the running config.": "用运行中配置里的模板，预览某条已存储的通知在某个接收者处的渲染结果。",
	"Preview": "预览",

	// Audit log.
	"Every logged-in change: logins, reloads, retries, discards, test sends; who did it, from where, and what came of it.": "每一次登录后的变更：登录、重载、重试、丢弃、测试发送；由谁、从哪里操作，结果如何。",
	"Who":    "操作人",
	"Role":   "角色",
	"From":   "来源地址",
	"Action": "操作",
	"Target": "对象",
	"Result": "结果",
}

// spokenElsewhere are catalog texts that the router (not a template) hands to T.
var spokenElsewhere = map[string]bool{
	"Wrong user name or password.":                             true,
	"Too many failed logins from this address; wait a minute.": true,
	"The login form expired; try again.":                       true,
}
