package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const repoRoot = "../.."

func TestTheComposeFilesLoadAloneAndTogether(t *testing.T) {
	report, err := validate(context.Background(), repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	if len(report) != 3 {
		t.Fatalf("expected three loads, got %q", report)
	}
	together := report[2]
	for _, service := range []string{"otel-collector", "prometheus", "tempo", "loki", "grafana",
		"frontend", "gateway", "geolocator", "iss-distance", "load-generator"} {
		if !strings.Contains(together, service) {
			t.Errorf("the combined project lacks %s: %s", service, together)
		}
	}
}

// A file the loader rejects must fail with the loader's own message.
func TestAMisspeltKeyFailsWithTheLoadersMessage(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{platformFile, servicesFile} {
		text, err := os.ReadFile(filepath.Join(repoRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == platformFile {
			text = []byte(strings.Replace(string(text), "      start_period: 10s", "      start_periode: 10s", 1))
		}
		if err := os.WriteFile(filepath.Join(dir, name), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := validate(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "start_periode") {
		t.Fatalf("expected the loader to reject start_periode, got %v", err)
	}
}
