package jobs

import (
	"strings"

	"inspectonce/messages"
	"inspectonce/store"
)

// NoticeLanguages are the languages notices are written in, by recipient
// kind (configs: notifications.language). A field left empty is Chinese.
// A notice's title and the sentence of its body ("text") are in its
// recipient's language; its other body fields are data and never change
// with the language.
type NoticeLanguages struct {
	Inspector messages.Lang
	Team      messages.Lang
	Business  messages.Lang
}

// For is the language of notices to recipients of kind (store.Recipient*).
func (n NoticeLanguages) For(kind string) messages.Lang {
	switch kind {
	case store.RecipientInspector:
		return n.Inspector.OrDefault()
	case store.RecipientTeam:
		return n.Team.OrDefault()
	case store.RecipientBusiness:
		return n.Business.OrDefault()
	}
	return messages.Default
}

// roleText is an inspector's role at a visit (store: "lead", "member") in l.
func roleText(l messages.Lang, role string) string {
	switch role {
	case "lead", "member":
		return l.T("notice.role." + role)
	}
	return role
}

// itemNames are the names of items, as a sentence lists them.
func itemNames(l messages.Lang, items []store.VisitItem) string {
	names := make([]string, 0, len(items))
	for _, it := range items {
		names = append(names, it.Name)
	}
	return l.List(names)
}

// visitDetail is what a notice to an inspector or a team says of visit v
// beyond its title: where, which team, who, what, and its code page.
func visitDetail(l messages.Lang, b visitBody) string {
	people := make([]string, 0, len(b.Inspectors))
	for _, in := range b.Inspectors {
		if in.Role != "" {
			people = append(people, l.T("notice.inspector", in.Name, roleText(l, in.Role)))
		} else {
			people = append(people, in.Name)
		}
	}
	return codeDetail(l, l.T("notice.detail.visit", b.Address, b.Team.Name, b.Team.Phone, l.List(people), itemNames(l, b.Items)), b.CodeURL)
}

// businessDetail is what a notice to a business says beyond its title.
func businessDetail(l messages.Lang, b businessBody) string {
	names := make([]string, 0, len(b.Items))
	for _, it := range b.Items {
		names = append(names, it.Name)
	}
	return codeDetail(l, l.T("notice.detail.business", b.Team.Name, b.Team.Phone, l.List(names)), b.CodeURL)
}

// codeDetail adds the code page's sentence, when there is a code page.
func codeDetail(l messages.Lang, s, url string) string {
	if url == "" {
		return s
	}
	if l == messages.EN {
		s += " "
	}
	return s + l.T("notice.detail.code", url)
}

// noticeText is the sentence of a notice's body: its title, then details.
func noticeText(l messages.Lang, title string, details ...string) string {
	sep := "" // Chinese sentences end in 。 and need no space
	if l == messages.EN {
		sep = " "
	}
	var parts []string
	for _, s := range details {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return l.T("notice.text", title, strings.Join(parts, sep))
}

// reasonDetail is "Reason: …" when reason is given.
func reasonDetail(l messages.Lang, reason string) string {
	if reason == "" {
		return ""
	}
	return l.T("notice.detail.reason", reason)
}
