package telemetry

// Occurrence is something that happened on the phone that firmware apps may
// report: a user action (one of the profiles.Action* names) and its plain
// values ("url", "search_word", "package", "plugged", "level", "key", "old",
// "new", "folder", "ssid"). App is the package that saw it.
type Occurrence struct {
	Action string
	App    string
	Values map[string]string
}
