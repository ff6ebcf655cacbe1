package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

// hashPasswordCmd prints the bcrypt hash of a password for web.users[].password_hash, as
// `htpasswd -nBC 10` does.
type hashPasswordCmd struct {
	cost *int
}

func newHashPasswordCmd(app *kingpin.Application) *hashPasswordCmd {
	cmd := app.Command("hash-password", "Print the bcrypt hash of a password, for web.users[].password_hash. The password is read from the terminal (not echoed) or from standard input.")
	return &hashPasswordCmd{cost: cmd.Flag("cost", "bcrypt cost: each step doubles the time a check (and a guess) takes.").Default("10").Int()}
}

func (c *hashPasswordCmd) run(stdin io.Reader, stdout, stderr io.Writer) int {
	if *c.cost < bcrypt.MinCost || *c.cost > bcrypt.MaxCost {
		fmt.Fprintf(stderr, "alertrouter: --cost must be from %d to %d\n", bcrypt.MinCost, bcrypt.MaxCost)
		return 2
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "alertrouter: %v\n", err)
		return 1
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), *c.cost)
	if err != nil {
		fmt.Fprintf(stderr, "alertrouter: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, string(hash))
	return 0
}

// readPassword reads a password: from the terminal without echo, asking twice, or the
// first line of stdin.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(first) != string(again) {
			return "", errors.New("the passwords differ")
		}
		return checkPassword(string(first))
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return checkPassword(strings.TrimRight(line, "\r\n"))
}

func checkPassword(p string) (string, error) {
	switch {
	case p == "":
		return "", errors.New("empty password")
	case len(p) > 72:
		return "", errors.New("bcrypt takes at most 72 bytes of a password")
	}
	return p, nil
}
