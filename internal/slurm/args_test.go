package slurm

import (
	"strings"
	"testing"
	"time"

	"github.com/bumpserve/bumpserve/internal/job"
	"github.com/bumpserve/bumpserve/internal/service"
)

// What a job asks for becomes sbatch flags, never more than the service's.
func TestSbatchArgs(t *testing.T) {
	t.Parallel()
	env := func(cpus int, l job.Limits) *service.Env {
		return &service.Env{Job: &job.Job{ID: 42}, CPUs: cpus, Limits: l, Output: "/d/jobs/42/output"}
	}
	for _, tc := range []struct {
		name      string
		o         Options
		env       *service.Env
		want, not []string
	}{
		{"defaults: no --mem, time from the wall limit", Options{}, env(1, job.Limits{WallSeconds: 90, MemoryMB: 4096}),
			[]string{"--job-name=bumpserve-42", "--cpus-per-task=1", "--time=3", "--output=/d/jobs/42/output/slurm.out"}, []string{"--mem", "--partition"}},
		{"cpus and a site time cap", Options{Time: time.Hour}, env(4, job.Limits{WallSeconds: 86400}),
			[]string{"--cpus-per-task=4", "--time=60"}, nil},
		{"memory configured, lowered by the job", Options{MemoryMB: 8000, Partition: "long", Account: "phys", Extra: []string{"--qos=x"}},
			env(1, job.Limits{WallSeconds: 60, MemoryMB: 512}),
			[]string{"--mem=512M", "--partition=long", "--account=phys", "--qos=x"}, nil},
		{"MPI ranks: tasks of cpus each, on one node", Options{},
			&service.Env{Job: &job.Job{ID: 42}, CPUs: 6, Spec: []byte(`{"resources":{"tasks":3,"cpus":2}}`), Output: "/d/jobs/42/output"},
			[]string{"--ntasks=3", "--cpus-per-task=2", "--nodes=1"}, []string{"--ntasks=1"}},
		{"one task: no --nodes", Options{}, env(2, job.Limits{}), []string{"--ntasks=1", "--cpus-per-task=2"}, []string{"--nodes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := " " + strings.Join(sbatchArgs(tc.o, tc.env, "/d/jobs/42"), " ") + " "
			for _, w := range tc.want {
				if !strings.Contains(got, " "+w+" ") {
					t.Errorf("sbatch args %q lack %s", got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("sbatch args %q have %s", got, n)
				}
			}
		})
	}
}

func TestParseFinalStatus(t *testing.T) {
	t.Parallel()
	st := parseScontrol("JobId=5 JobName=x JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0 RunTime=00:00:00\n")
	if st == nil || st.State != "FAILED" || st.ExitCode != "3:0" || st.Reason != "NonZeroExitCode" {
		t.Errorf("scontrol: %+v", st)
	}
	st = parseSacct("5|RUNNING|0:0\n5|CANCELLED by 0|0:15\n6|COMPLETED|0:0\n", "5")
	if st == nil || st.State != "CANCELLED" || st.ExitCode != "0:15" {
		t.Errorf("sacct: %+v", st)
	}
	if parseSacct("", "5") != nil {
		t.Error("sacct with no lines gave a status")
	}
}
