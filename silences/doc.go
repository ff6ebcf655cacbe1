// Package silences keeps Alertmanager the one source of truth for silences while people
// make them in alertrouter: a silence is stored first, then created on every configured
// Alertmanager (an unclustered pair shares nothing) and kept there, retried like a
// notification while one is down or has lost it; when it ends, the receivers of the
// alerts it covered get a short notice, once.
package silences
