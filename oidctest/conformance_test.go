package oidctest

import (
	"strings"
	"testing"
)

func TestModules(t *testing.T) {
	seen := map[string]bool{}
	s := NewServer(Config{})
	defer s.Close()
	for _, m := range Modules() {
		if seen[m.ID] {
			t.Errorf("module %s listed twice", m.ID)
		}
		seen[m.ID] = true
		if !strings.HasPrefix(m.ID, "oidcc-client-test") && !strings.HasPrefix(m.ID, "fapi2-security-profile-final-client-test-") {
			t.Errorf("module id %q is not a conformance suite id", m.ID)
		}
		s.Misbehave(m.Behaviors...) // panics on an unknown behaviour
		if (m.Step == StepBackchannel) != (m.Defect != "" || m.Accept && m.Step == StepBackchannel) {
			t.Errorf("%s: a logout token defect outside the back-channel step", m.ID)
		}
	}
}
