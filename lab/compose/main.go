// Command compose-validate loads the stack's two compose files with
// compose-go, the loader Docker Compose itself uses: each file alone and both
// together (the platform and the services on one shared network), with every
// profile, schema validation, interpolation and consistency checks on. It
// prints the loader's own error and exits 1 when a file does not load.
//
//	go run ./lab/compose [repo root]
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// The files users run, relative to the repository root.
const (
	platformFile = "docker-compose.yml"
	servicesFile = "docker-compose-services.yml"
	sharedNet    = "iss-distance-observability"
)

// load returns the project Docker Compose would run for these files, with
// every profile enabled and no variables from the caller's environment, so
// the compose defaults are what is checked.
func load(ctx context.Context, root string, files ...string) (*types.Project, error) {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(root, f)
	}
	opts, err := cli.NewProjectOptions(paths,
		cli.WithWorkingDirectory(root),
		cli.WithEnv(nil),
		cli.WithProfiles([]string{"*"}),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(ctx)
}

// validate loads each file alone and both together and checks that the
// services join the platform's network.
func validate(ctx context.Context, root string) ([]string, error) {
	var report []string
	for _, files := range [][]string{{platformFile}, {servicesFile}, {platformFile, servicesFile}} {
		project, err := load(ctx, root, files...)
		if err != nil {
			return report, fmt.Errorf("%s: %w", strings.Join(files, " + "), err)
		}
		names := project.ServiceNames()
		sort.Strings(names)
		report = append(report, fmt.Sprintf("%s: project %q, services %s",
			strings.Join(files, " + "), project.Name, strings.Join(names, ", ")))
		for _, svc := range project.Services {
			for key := range svc.Networks {
				network, ok := project.Networks[key]
				if !ok || network.Name != sharedNet {
					return report, fmt.Errorf("%s: service %s is on network %q, not %s",
						strings.Join(files, " + "), svc.Name, network.Name, sharedNet)
				}
			}
		}
	}
	return report, nil
}

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	report, err := validate(context.Background(), root)
	for _, line := range report {
		fmt.Println(line)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-validate:", err)
		os.Exit(1)
	}
}
