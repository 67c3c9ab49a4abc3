package mask

import "regexp"

var (
	emailInText = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	// A run of digits with the separators people type in phone, card and
	// account numbers between them.
	numberInText = regexp.MustCompile(`\+?\d(?:[\d \-./()]*\d)?`)
)

// Text masks what looks like personal data inside free text (a support
// ticket, a note): every email address as Email, every number of six or
// more digits (separators allowed) as "***" plus its last four digits.
// Everything else is kept, so the text stays readable; shorter numbers
// (quantities, years) are kept too, while dates written as six or more
// digits ("2024-01-15") are masked like any other long number. It is a safety net, not a guarantee: a
// name or an address in prose is not recognised.
func Text(s string) string {
	s = emailInText.ReplaceAllStringFunc(s, Email)
	return numberInText.ReplaceAllStringFunc(s, func(m string) string {
		if countDigits(m) < 6 {
			return m
		}
		return stars + lastDigits(m, 4)
	})
}
