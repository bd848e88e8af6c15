package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuUse is CPU time spent, by process group: this process (the bench's
// clients and the kaowu it serves), PostgreSQL and MinIO. Read from /proc,
// so only on Linux; elsewhere it is empty and nothing is printed. It shows
// where an operation's cost goes when everything shares one machine.
type cpuUse map[string]time.Duration

// clockTick is USER_HZ, 100 on every Linux platform Go supports.
const clockTick = 10 * time.Millisecond

func sampleCPU() cpuUse {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	u := cpuUse{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ... utime is field 14, stime 15; comm may hold spaces.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		comm := s[open+1 : end]
		var group string
		switch {
		case pid == self:
			group = "kaowu+clients"
		case strings.HasPrefix(comm, "postgres"):
			group = "postgres"
		case comm == "minio":
			group = "minio"
		default:
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		u[group] += time.Duration(ut+st) * clockTick
	}
	return u
}

// since is the CPU spent from before to now (processes that ended in
// between are not counted: PostgreSQL backends live as long as the pool).
func (before cpuUse) since() cpuUse {
	now := sampleCPU()
	d := cpuUse{}
	for k, v := range now {
		d[k] = v - before[k]
	}
	return d
}

func (c cpuUse) add(o cpuUse) cpuUse {
	if c == nil {
		c = cpuUse{}
	}
	for k, v := range o {
		c[k] += v
	}
	return c
}

// perOp formats the CPU per operation, e.g. "kaowu+clients 1.2ms, postgres 0.4ms".
func (c cpuUse) perOp(n int) string {
	if len(c) == 0 || n == 0 {
		return ""
	}
	var parts []string
	var total time.Duration
	for _, k := range []string{"kaowu+clients", "postgres", "minio"} {
		if v, ok := c[k]; ok && v > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2fms", k, float64(v)/float64(n)/1e6))
			total += v
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("%.2fms CPU (%s)", float64(total)/float64(n)/1e6, strings.Join(parts, ", "))
}
