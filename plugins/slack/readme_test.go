package main

import (
	"os"
	"regexp"
	"testing"

	"github.com/triggergate/triggergate/sdk"
)

// TestReadmeConfigTable checks that the README documents exactly the
// attributes of the schema, with their types and whether they are required.
func TestReadmeConfigTable(t *testing.T) {
	t.Parallel()
	md, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([a-z()]+) \\| (yes|no) \\|").FindAllSubmatch(md, -1)
	documented := map[string][2]string{}
	for _, r := range rows {
		documented[string(r[1])] = [2]string{string(r[2]), string(r[3])}
	}
	attrs := sdk.SchemaOf(Config{}).Attributes
	if len(documented) != len(attrs) {
		t.Errorf("README documents %d attributes, the schema has %d", len(documented), len(attrs))
	}
	for _, a := range attrs {
		required := "no"
		if a.Required {
			required = "yes"
		}
		if got, ok := documented[a.Name]; !ok || got != [2]string{string(a.Type), required} {
			t.Errorf("README row for %s = %v, want %s, required %s", a.Name, got, a.Type, required)
		}
	}
}
