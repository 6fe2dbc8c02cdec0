// vcsim: govmomi's vCenter simulator (a VPX model) on 127.0.0.1 over https.
//
// Debian's golang-github-vmware-govmomi-dev ships the simulator library but
// no command; this is ours. Built in GOPATH mode by tools/vcsim/run. The
// first line on stdout is the SDK URL with credentials; SIGTERM stops it.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	port := flag.Int("port", 0, "port on 127.0.0.1 (0: a free one)")
	datacenters := flag.Int("dc", 1, "datacenters")
	machines := flag.Int("vm", 2, "VMs made at start on each host and cluster (0: none)")
	clusters := flag.Int("cluster", 1, "clusters")
	clusterHosts := flag.Int("cluster-host", 3, "hosts in each cluster")
	hosts := flag.Int("host", 1, "standalone hosts")
	datastores := flag.Int("ds", 1, "datastores")
	stdinEOF := flag.Bool("exit-on-stdin-eof", false,
		"stop when stdin closes (a test harness that dies leaves no vcsim behind)")
	flag.Parse()

	model := simulator.VPX()
	model.Datacenter = *datacenters
	model.Machine = *machines
	model.Cluster = *clusters
	model.ClusterHost = *clusterHosts
	model.Host = *hosts
	model.Datastore = *datastores
	if err := model.Create(); err != nil {
		log.Fatalf("vcsim: cannot create the model: %v", err)
	}
	model.Service.TLS = new(tls.Config)
	model.Service.Listen = &url.URL{Host: fmt.Sprintf("127.0.0.1:%d", *port)}
	server := model.Service.NewServer()
	fmt.Println(server.URL.String())
	os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	if *stdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop <- syscall.SIGTERM
		}()
	}
	<-stop
	server.Close()
	model.Remove()
}
