package tail

import "unicode/utf8"

// ContinuedMarker ends the Text of every part of a split line except the
// last, so a reader of the remote log sees that the message goes on in the
// next one. The last part has no marker; Line.Part numbers the parts.
const ContinuedMarker = " [continued]"

// splitPoint returns where to cut b (longer than max) so the first part
// holds at most max bytes without cutting a UTF-8 character in two, which
// would turn its halves into \xNN escapes on both sides of the cut.
func splitPoint(b []byte, max int) int {
	// Look back at most UTFMax-1 bytes for the start of a character that
	// would straddle the cut.
	for j := max - 1; j >= 0 && j > max-utf8.UTFMax; j-- {
		if !utf8.RuneStart(b[j]) {
			continue
		}
		r, size := utf8.DecodeRune(b[j:])
		if r != utf8.RuneError && j+size > max && j > 0 {
			return j
		}
		break
	}
	return max
}
