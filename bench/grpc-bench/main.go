// A gRPC load generator for etcd's v3 API, built from Debian's etcd 3.4 client sources (GOPATH mode):
// the same client any Go program uses, so it measures what etcdctl and clientv3 users get.
// Usage: grpc-bench -e 127.0.0.1:2379[,more] -w put|range|range-serial|txn|lease-grant -c 64 -conns 8 -d 5s [-warmup 1s]
// Prints one JSON line: {"workload","clients","conns","ops","errors","ops_per_s","p50_ms","p99_ms"};
// on stderr, "measuring" and "measured" around the measured time (bench/grpc.ts counts the
// servers' CPU between them).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	endpoints := flag.String("e", "127.0.0.1:2379", "comma-separated endpoints")
	workload := flag.String("w", "put", "put|range|range-serial|txn|lease-grant")
	clients := flag.Int("c", 64, "concurrent clients")
	conns := flag.Int("conns", 8, "gRPC connections shared by the clients")
	dur := flag.Duration("d", 5*time.Second, "measured duration")
	warm := flag.Duration("warmup", time.Second, "warm-up before measuring")
	keys := flag.Int("keys", 10000, "key space")
	flag.Parse()
	eps := strings.Split(*endpoints, ",")
	cs := make([]*clientv3.Client, *conns)
	for i := range cs {
		c, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			os.Exit(1)
		}
		cs[i] = c
	}
	val := strings.Repeat("v", 256)
	ctx := context.Background()
	if *workload != "put" && *workload != "lease-grant" {
		for i := 0; i < 1000; i++ {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := cs[0].Put(pctx, fmt.Sprintf("bench/%d", i), val)
			cancel()
			if err != nil {
				fmt.Fprintln(os.Stderr, "preload:", err)
				os.Exit(1)
			}
		}
	}
	op := func(c *clientv3.Client, r *rand.Rand) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		k := fmt.Sprintf("bench/%d", r.Intn(*keys))
		var err error
		switch *workload {
		case "put":
			_, err = c.Put(ctx, k, val)
		case "range":
			_, err = c.Get(ctx, fmt.Sprintf("bench/%d", r.Intn(1000)))
		case "range-serial":
			_, err = c.Get(ctx, fmt.Sprintf("bench/%d", r.Intn(1000)), clientv3.WithSerializable())
		case "txn":
			k = fmt.Sprintf("bench/%d", r.Intn(1000))
			_, err = c.Txn(ctx).If(clientv3.Compare(clientv3.Version(k), ">", 0)).Then(clientv3.OpPut(k, val)).Commit()
		case "lease-grant":
			_, err = c.Grant(ctx, 60)
		default:
			err = fmt.Errorf("unknown workload %s", *workload)
		}
		return err
	}
	var measuring int32
	var stop int32
	var ops, errs int64
	lat := make([][]float64, *clients)
	var wg sync.WaitGroup
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(i)))
			c := cs[i%len(cs)]
			for atomic.LoadInt32(&stop) == 0 {
				t := time.Now()
				err := op(c, r)
				if atomic.LoadInt32(&measuring) == 1 {
					if err != nil {
						atomic.AddInt64(&errs, 1)
					} else {
						atomic.AddInt64(&ops, 1)
						lat[i] = append(lat[i], float64(time.Since(t).Microseconds())/1000)
					}
				}
			}
		}(i)
	}
	time.Sleep(*warm)
	atomic.StoreInt32(&measuring, 1)
	fmt.Fprintln(os.Stderr, "measuring")
	start := time.Now()
	time.Sleep(*dur)
	atomic.StoreInt32(&measuring, 0)
	fmt.Fprintln(os.Stderr, "measured")
	el := time.Since(start).Seconds()
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	all := []float64{}
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Float64s(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return -1
		}
		return all[int(float64(len(all)-1)*p)]
	}
	out, _ := json.Marshal(map[string]interface{}{"workload": *workload, "clients": *clients, "conns": *conns, "ops": ops, "errors": errs,
		"ops_per_s": float64(ops) / el, "p50_ms": pct(0.5), "p99_ms": pct(0.99)})
	fmt.Println(string(out))
}
