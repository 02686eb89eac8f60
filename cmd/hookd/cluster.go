package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd/engine"
)

// clusterFlags are hookd run's flags that make the node one member of a cluster.
type clusterFlags struct {
	listen, id, peers                string
	heartbeat, deadAfter, joinTimout time.Duration
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.listen, "cluster-listen", "", "host:port of this member's cluster transport, as the other members reach it (joins a cluster)")
	fs.StringVar(&c.id, "cluster-id", "", "this member's name, unique in the cluster (default: the host name)")
	fs.StringVar(&c.peers, "cluster-peers", "", "comma-separated --cluster-listen addresses of other members")
	fs.DurationVar(&c.heartbeat, "cluster-heartbeat", 0, "how often members tell each other they are alive (default 500ms)")
	fs.DurationVar(&c.deadAfter, "cluster-dead-after", 0, "how long a silent member stays before its queues move (default 5s)")
	fs.DurationVar(&c.joinTimout, "cluster-join-timeout", 0, "how long to wait at start for the peers to answer (default 30s)")
}

// config is the engine's cluster configuration, nil when the node runs alone.
func (c *clusterFlags) config(hostname func() (string, error)) (*engine.ClusterConfig, error) {
	if c.listen == "" {
		if c.id != "" || c.peers != "" {
			return nil, fmt.Errorf("--cluster-id and --cluster-peers need --cluster-listen")
		}
		return nil, nil
	}
	id := c.id
	if id == "" {
		h, err := hostname()
		if err != nil {
			return nil, fmt.Errorf("--cluster-id is not set and the host name is unknown: %w", err)
		}
		id = h
	}
	var peers []string
	for _, p := range strings.Split(c.peers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			peers = append(peers, p)
		}
	}
	return &engine.ClusterConfig{ID: id, Listen: c.listen, Peers: peers, Heartbeat: c.heartbeat,
		DeadAfter: c.deadAfter, JoinTimeout: c.joinTimout}, nil
}
