package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/bumpserve/bumpserve/client"
	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/strictjson"
)

const submitUsage = `submit [flags] [JOB.json] [FILE...]

Submits a job and prints its id. --cpus, --tasks, --wall and --memory-mb set the
spec's resources and limits; a job without --name is named after its
model script or spec file. Either name the service with --service
(and give its spec with --spec or --spec-file), or pass a job document
{"name", "service", "spec"} as the first argument. Further arguments are
files uploaded into the job's input/ directory. A job document holding a
JSON array of jobs (without files) is submitted as one batch, all or
none, and their ids are printed one a line.

  bumpserve submit --service sleep --spec '{"seconds": 2}'
  bumpserve submit --service fit --spec-file misra.json data.txt
  bumpserve submit job.json data.txt
  bumpserve submit jobs.json          (jobs.json: [{"service":"sleep"}, ...])
  bumpserve submit --service bumps model.py data.txt --fit dream --samples 10000 --seed 1 [-- model args]

For --service bumps the first file is the model script; --fit and the
option flags (--samples, --burn, --steps, --seed, --parallel) build the
spec, and only the options given are passed to bumps.

--notify ADDR mails ADDR when the job ends; --notify https://… posts the
job to that URL, signed (see bumpserve user webhook-secret); without it
your default applies (bumpserve user notify).
` + seriesUsage

func runSubmit(ctx context.Context, args []string) error {
	fs := newFlags("submit", submitUsage)
	var cf clientFlags
	cf.register(fs)
	service := fs.String("service", "", "the job's service (fit, bumps, sleep)")
	name := fs.String("name", "", "a name for the job (default: the model script's or spec file's name)")
	spec := fs.String("spec", "", "the spec as JSON text")
	specFile := fs.String("spec-file", "", "a file holding the spec as JSON")
	priority := fs.Int("priority", 0, "priority from -100 to 100 (higher runs sooner among your jobs)")
	var notify notifyFlag
	fs.Var(&notify, "notify", "when the job ends, mail ADDR or POST to the https URL (may be given twice, once each); none: no notification, not even your default")
	var share groupList
	fs.Var(&share, "share", "share the job read-only with these groups of yours (repeat, or separate with commas)")
	var rf resourceFlags
	rf.register(fs)
	var bf bumpsFlags
	bf.register(fs)
	var sf seriesFlags
	sf.register(fs)
	args, seriesFiles, isSeries := takeSeries(args)
	sf.files = seriesFiles
	pos, err := parseFlags(fs, args, clientEnv)
	if err != nil {
		return err
	}
	if doc, ok := batchDocument(*service, pos); ok && !isSeries {
		if len(share) > 0 {
			return usagef("submit: --share goes with one job; in a batch, give each job its \"groups\"")
		}
		return submitBatch(ctx, fs, &cf, &rf, pos[0], doc)
	}
	if *service == "bumps" && *spec == "" && *specFile == "" {
		b, files, err := bf.spec(fs, pos, args)
		if err != nil {
			return err
		}
		*spec, pos = string(b), files
	} else if bf.used(fs) {
		return usagef("submit: --fit, --samples, --burn, --steps, --seed and --parallel go with --service bumps and no --spec")
	}
	sub, files, err := buildSubmission(*service, *name, *spec, *specFile, *priority, pos, func(spec json.RawMessage) (json.RawMessage, error) {
		return rf.apply(fs, spec)
	})
	if err != nil {
		return err
	}
	if notify.set {
		sub.Notify = &client.Notify{Email: notify.n.Email, Webhook: notify.n.Webhook}
	}
	sub.Groups = append(sub.Groups, share...)
	if isSeries {
		if files, err = sf.apply(&sub, files); err != nil {
			return err
		}
	} else if sf.x != "" || sf.chain {
		return usagef("submit: --series-x and --chain go with --series FILE...")
	}
	if sub.Service == "bumps" && !isSeries {
		warnUnsent(os.Stderr, sub, files)
	}
	cl, err := cf.client()
	if err != nil {
		return err
	}
	j, err := cl.Submit(ctx, sub, files)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("job %d", j.ID)
	if isSeries {
		what += ", " + seriesSummary(len(sf.files))
	}
	fmt.Fprintf(os.Stderr, "submitted %s (%s, %s)\n", what, j.Service, j.State)
	fmt.Println(j.ID)
	return nil
}

// buildSubmission makes the job document from the flags and files;
// resources merges --cpus, --tasks, --wall and --memory-mb into its spec.
func buildSubmission(service, name, spec, specFile string, priority int, pos []string,
	resources func(json.RawMessage) (json.RawMessage, error)) (client.Submission, []client.Upload, error) {
	docFile := ""
	sub := client.Submission{Name: name, Service: service, Priority: priority}
	if spec != "" && specFile != "" {
		return sub, nil, usagef("submit: give --spec or --spec-file, not both")
	}
	if specFile != "" {
		b, err := os.ReadFile(specFile)
		if err != nil {
			return sub, nil, usagef("spec-file: %v", err)
		}
		spec = string(b)
	}
	if service == "" {
		if len(pos) == 0 {
			return sub, nil, usagef("submit: name the service with --service, or give a job document JSON file")
		}
		b, err := os.ReadFile(pos[0])
		if err != nil {
			return sub, nil, usagef("job document: %v", err)
		}
		var doc client.Submission
		if err := strictjson.Decode(b, "job", &doc); err != nil {
			return sub, nil, usagef("job document %s: %v", pos[0], err)
		}
		if name != "" {
			doc.Name = name
		}
		if spec != "" {
			doc.Spec = json.RawMessage(spec)
		}
		if priority != 0 {
			doc.Priority = priority
		}
		sub, pos, docFile = doc, pos[1:], pos[0]
	} else if spec != "" {
		sub.Spec = json.RawMessage(spec)
	}
	if len(sub.Spec) > 0 && !json.Valid(sub.Spec) {
		return sub, nil, usagef("spec: not valid JSON")
	}
	var err error
	if sub.Spec, err = resources(sub.Spec); err != nil {
		return sub, nil, err
	}
	if sub.Name == "" {
		sub.Name = defaultName(sub.Spec, specFile, docFile)
	}
	files := make([]client.Upload, len(pos))
	for i, p := range pos {
		files[i] = client.Upload{Path: p}
	}
	return sub, files, nil
}

// notifyFlag is --notify: an email address, or a URL for a webhook.
type notifyFlag struct {
	n   job.Notify
	set bool
}

func (f *notifyFlag) String() string { return "" }

func (f *notifyFlag) Set(v string) error {
	f.set = true
	return f.n.AddTarget(v)
}
