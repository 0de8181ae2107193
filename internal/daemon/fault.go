package daemon

// faultHook is called at each step of a restore or factory reset that a
// crash could interrupt: "staged" (every file staged, the "started" entry
// written, nothing committed), "journal" (the journal committed),
// "applied:NAME" (NAME put in place) and "cleanup" (every file in place,
// the journal not yet removed). It does nothing, except in a build with
// the faultinject tag (fault_faultinject.go), where HOSTAGENT_FAULT names
// a step to kill the process at: the crash tests of cmd/hostagentd.
var faultHook = func(step string) {}
