package shell

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Parse errors come from mvdan.cc/sh worded its own way; scripts and
// people read mksh's words, so they are reworded. mksh's texts (syn.c
// syntaxerr, lex.c) as Android prints them: "syntax error: unexpected
// 'then'", "syntax error: unexpected EOF", "syntax error: unmatched 'if'",
// "no closing quote". A message without a known counterpart keeps the
// parser's words after "syntax error: " (modeled).
var (
	reQuote     = regexp.MustCompile("without closing quote|without matching `\\$\\{|without matching `\\$\\(\\(")
	reUnmatched = regexp.MustCompile("^reached EOF without matching `\\$?([({])")
	reStatement = regexp.MustCompile("^`(\\w+)` statement must end with")
	reMisplaced = regexp.MustCompile("^`([^`]+)` can only")
	reFollowed  = regexp.MustCompile("^`([^`]+)` must be followed by")
	reLeading   = regexp.MustCompile("^`(\\w+)[ `]")
)

// mkshSyntax words a parse error as mksh would; src, when known, lets it
// name the token after an operator that lacks its operand.
func mkshSyntax(err error, src string) string {
	var pe syntax.ParseError
	if !errors.As(err, &pe) {
		return "syntax error: " + err.Error()
	}
	t := pe.Text
	switch {
	case reQuote.MatchString(t):
		return "no closing quote"
	case reUnmatched.MatchString(t):
		return fmt.Sprintf("syntax error: unmatched '%s'", reUnmatched.FindStringSubmatch(t)[1])
	case reStatement.MatchString(t):
		return fmt.Sprintf("syntax error: unmatched '%s'", reStatement.FindStringSubmatch(t)[1])
	case reMisplaced.MatchString(t):
		return fmt.Sprintf("syntax error: unexpected '%s'", reMisplaced.FindStringSubmatch(t)[1])
	case reLeading.MatchString(t) && pe.Incomplete:
		// mksh opens an if/while/until at its keyword, so the end of the
		// input leaves it unmatched; for, select and case first need a
		// word, and there the end itself is unexpected.
		if kw := reLeading.FindStringSubmatch(t)[1]; kw == "if" || kw == "while" || kw == "until" {
			return fmt.Sprintf("syntax error: unmatched '%s'", kw)
		}
		return "syntax error: unexpected EOF"
	case reFollowed.MatchString(t):
		op := reFollowed.FindStringSubmatch(t)[1]
		if next := tokenAfter(src, pe.Pos, op); next != "" {
			return fmt.Sprintf("syntax error: unexpected '%s'", next)
		}
		return "syntax error: unexpected EOF"
	}
	return "syntax error: " + t
}

// tokenAfter is the operator or word that follows op at pos in src, ""
// at the end of the input.
func tokenAfter(src string, pos syntax.Pos, op string) string {
	if src == "" || !pos.IsValid() {
		return ""
	}
	off := int(pos.Offset()) + len(op)
	if off > len(src) {
		return ""
	}
	rest := strings.TrimLeft(src[off:], " \t")
	if rest == "" || rest[0] == '\n' {
		return ""
	}
	for _, o := range []string{"&&", "||", ";;", "|", "&", ";", ">", "<", "(", ")"} {
		if strings.HasPrefix(rest, o) {
			return o
		}
	}
	end := strings.IndexAny(rest, " \t\n;&|<>()")
	if end < 0 {
		end = len(rest)
	}
	return rest[:end]
}

// errorLine is the line a parse error is on (0 when unknown).
func errorLine(err error) uint {
	var pe syntax.ParseError
	if errors.As(err, &pe) && pe.Pos.IsValid() {
		return pe.Pos.Line()
	}
	return 0
}

// syntaxError prints a parse error as mksh does: with origin[line] for a
// script read from stdin or a file.
func syntaxError(ctx context.Context, sio IO, err error, src string) {
	prefix := Name + ": "
	if origin := scriptOf(ctx).origin; origin != "" {
		prefix = fmt.Sprintf("%s: %s[%d]: ", Name, origin, errorLine(err))
	}
	fmt.Fprintf(sio.Stderr, "%s%s\n", prefix, mkshSyntax(err, src))
}
