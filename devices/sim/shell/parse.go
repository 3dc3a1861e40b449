// Package shell is the simulated phone's /system/bin/sh: a small POSIX-ish
// parser (quoting, ; && || |, redirects, globs) and a runner that hands each
// simple command to a table of commands. It knows nothing about phones; the
// phone supplies the commands, the globbing and the files redirects open.
package shell

import (
	"fmt"
	"strings"
)

// Word is one argument after quote removal. Glob is set when an unquoted
// * ? or [ appeared, so the runner expands it against the file system.
type Word struct {
	Text string
	Glob bool
	// Subst is set when Text holds $(...) command substitutions to run.
	Subst bool
}

// Redirect sends a stream to a file: Fd 1 or 2; Append for >>; Dup for 2>&1.
type Redirect struct {
	Fd     int
	Path   string
	Append bool
	Dup    bool
}

// Simple is one command with its arguments and redirects.
type Simple struct {
	Words     []Word
	Redirects []Redirect
}

// Pipeline is commands joined by |, and the operator that links it to the
// next pipeline: ";", "&&" or "||" ("" for the last).
type Pipeline struct {
	Commands []Simple
	Next     string
}

// SyntaxError is a line the parser cannot read, worded as sh words it.
type SyntaxError struct{ Msg string }

func (e *SyntaxError) Error() string { return "syntax error: " + e.Msg }

type token struct {
	word Word
	op   string // non-empty for operators: ; && || | & > >> 2> 2>> 2>&1 newline
}

func lex(line string) ([]token, error) {
	var toks []token
	var cur strings.Builder
	inWord, glob, subst := false, false, false
	flush := func() {
		if inWord {
			toks = append(toks, token{word: Word{Text: cur.String(), Glob: glob, Subst: subst}})
		}
		cur.Reset()
		inWord, glob, subst = false, false, false
	}
	// substitution copies a whole $(...) into the word, nested parentheses
	// included, and returns the index of its closing parenthesis.
	substitution := func(i int) (int, error) {
		depth := 0
		for j := i + 1; j < len(line); j++ {
			switch line[j] {
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					cur.WriteString(line[i : j+1])
					subst = true
					return j, nil
				}
			}
		}
		return 0, &SyntaxError{"unterminated $("}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, &SyntaxError{"unterminated quoted string"}
			}
			cur.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '$' && i+1 < len(line) && line[i+1] == '(' {
					j, err := substitution(i)
					if err != nil {
						return nil, err
					}
					i = j
					continue
				}
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`\n", line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, &SyntaxError{"unterminated quoted string"}
			}
			inWord = true
		case c == '\\':
			if i+1 < len(line) {
				i++
				if line[i] != '\n' {
					cur.WriteByte(line[i])
					inWord = true
				}
			}
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			flush()
			for i < len(line) && line[i] != '\n' {
				i++
			}
			i--
		case c == '\n' || c == ';':
			flush()
			toks = append(toks, token{op: ";"})
		case c == '&' || c == '|':
			flush()
			if i+1 < len(line) && line[i+1] == c {
				toks = append(toks, token{op: string(c) + string(c)})
				i++
			} else if c == '&' {
				// Background jobs finish before the shell exits anyway.
				toks = append(toks, token{op: ";"})
			} else {
				toks = append(toks, token{op: "|"})
			}
		case c == '>' || (c == '2' && !inWord && i+1 < len(line) && line[i+1] == '>'):
			flush()
			op := ">"
			if c == '2' {
				op = "2>"
				i++
			}
			if i+1 < len(line) && line[i+1] == '>' {
				op += ">"
				i++
			}
			if op == "2>" && strings.HasPrefix(line[i+1:], "&1") {
				op = "2>&1"
				i += 2
			}
			toks = append(toks, token{op: op})
		case c == '$' && i+1 < len(line) && line[i+1] == '(':
			j, err := substitution(i)
			if err != nil {
				return nil, err
			}
			i = j
			inWord = true
		case c == '<':
			return nil, &SyntaxError{"input redirection is not supported by the simulated shell"}
		default:
			if c == '*' || c == '?' || c == '[' {
				glob = true
			}
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return toks, nil
}

// Parse reads a command line into pipelines.
func Parse(line string) ([]Pipeline, error) {
	toks, err := lex(line)
	if err != nil {
		return nil, err
	}
	var out []Pipeline
	var pl Pipeline
	var cmd Simple
	endCmd := func(op string) error {
		if len(cmd.Words) == 0 {
			if len(cmd.Redirects) > 0 || op != ";" || len(pl.Commands) > 0 {
				return &SyntaxError{fmt.Sprintf("unexpected '%s'", op)}
			}
			return nil
		}
		pl.Commands = append(pl.Commands, cmd)
		cmd = Simple{}
		return nil
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.op {
		case "":
			cmd.Words = append(cmd.Words, t.word)
		case "|":
			if err := endCmd("|"); err != nil {
				return nil, err
			}
		case ";", "&&", "||":
			if err := endCmd(t.op); err != nil {
				return nil, err
			}
			if len(pl.Commands) > 0 {
				pl.Next = t.op
				out = append(out, pl)
				pl = Pipeline{}
			}
		case "2>&1":
			cmd.Redirects = append(cmd.Redirects, Redirect{Fd: 2, Dup: true})
		default: // > >> 2> 2>>
			if i+1 >= len(toks) || toks[i+1].op != "" {
				return nil, &SyntaxError{"redirection without a file name"}
			}
			i++
			r := Redirect{Fd: 1, Path: toks[i].word.Text, Append: strings.HasSuffix(t.op, ">>")}
			if strings.HasPrefix(t.op, "2") {
				r.Fd = 2
			}
			cmd.Redirects = append(cmd.Redirects, r)
		}
	}
	if len(cmd.Words) > 0 || len(cmd.Redirects) > 0 {
		if err := endCmd(";"); err != nil {
			return nil, err
		}
	}
	if len(pl.Commands) > 0 {
		out = append(out, pl)
	} else if len(out) > 0 && out[len(out)-1].Next != ";" {
		return nil, &SyntaxError{fmt.Sprintf("line ends with '%s'", out[len(out)-1].Next)}
	}
	if len(out) > 0 {
		out[len(out)-1].Next = ""
	}
	return out, nil
}
