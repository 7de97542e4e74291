// A Go program that uses etcd's own client (clientv3, Debian's etcd 3.4 sources, GOPATH mode) the
// way applications do, to check that Concord answers it as etcd does.
//
// -mode session: one scripted session — put, get (prefix, sort, limit), txn both ways, a watch,
// a lease with keep-alive and its keys, a concurrency mutex, and the error paths — printing one
// line per observation, deterministic for a fresh server, so the output against etcd and against
// Concord can be compared line for line (lease ids are printed as L1, L2… in order of appearance).
//
// -mode failover: a session lease kept alive, a watch on a prefix, and a writer putting numbered
// keys until -writes acknowledged puts; prints "progress N" every 50 acknowledged puts (the test
// kills the leader meanwhile) and, at the end, one summary line: acknowledged puts, events seen,
// duplicates, events out of order, acknowledged puts never seen, and whether the session's lease
// is still alive. Never: retries a put itself (clientv3 does what it does; an unacknowledged put
// may or may not have happened, and is allowed to appear once).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
	"go.etcd.io/etcd/mvcc/mvccpb"
)

var leaseNames = map[clientv3.LeaseID]string{}

func leaseName(id clientv3.LeaseID) string {
	if id == 0 {
		return "0"
	}
	if n, ok := leaseNames[id]; ok {
		return n
	}
	n := fmt.Sprintf("L%d", len(leaseNames)+1)
	leaseNames[id] = n
	return n
}

func kv(k *mvccpb.KeyValue) string {
	return fmt.Sprintf("%s=%s create=%d mod=%d version=%d lease=%s", k.Key, k.Value, k.CreateRevision, k.ModRevision, k.Version, leaseName(clientv3.LeaseID(k.Lease)))
}

func say(format string, args ...interface{}) {
	fmt.Printf(format+"\n", args...)
}

func check(what string, err error) {
	if err != nil {
		say("%s: error: %v", what, err)
	}
}

func main() {
	endpoints := flag.String("e", "127.0.0.1:2379", "comma-separated endpoints")
	mode := flag.String("mode", "session", "session|failover")
	writes := flag.Int("writes", 600, "failover: acknowledged puts to reach")
	flag.Parse()
	cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(*endpoints, ","), DialTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(1)
	}
	defer cli.Close()
	switch *mode {
	case "session":
		session(cli)
	case "failover":
		failover(cli, *writes)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", *mode)
		os.Exit(2)
	}
}

func ctx() context.Context {
	c, _ := context.WithTimeout(context.Background(), 10*time.Second)
	return c
}

func session(cli *clientv3.Client) {
	put, err := cli.Put(ctx(), "foo", "bar")
	check("put foo", err)
	if err == nil {
		say("put foo: revision %d", put.Header.Revision)
	}
	for i, k := range []string{"app/b", "app/a", "app/c", "apple"} {
		_, err := cli.Put(ctx(), k, fmt.Sprintf("v%d", i))
		check("put "+k, err)
	}
	prev, err := cli.Put(ctx(), "foo", "baz", clientv3.WithPrevKV())
	check("put foo prev", err)
	if err == nil && prev.PrevKv != nil {
		say("put foo prev: %s", kv(prev.PrevKv))
	}

	get, err := cli.Get(ctx(), "foo")
	check("get foo", err)
	if err == nil {
		say("get foo: count=%d %s", get.Count, kv(get.Kvs[0]))
	}
	get, err = cli.Get(ctx(), "app/", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(2))
	check("get prefix", err)
	if err == nil {
		say("get app/ prefix desc limit 2: count=%d more=%v", get.Count, get.More)
		for _, k := range get.Kvs {
			say("  %s", kv(k))
		}
	}
	get, err = cli.Get(ctx(), "foo", clientv3.WithRev(put.Header.Revision))
	check("get foo at rev", err)
	if err == nil {
		say("get foo at its first revision: %s", kv(get.Kvs[0]))
	}
	get, err = cli.Get(ctx(), "app", clientv3.WithFromKey(), clientv3.WithKeysOnly(), clientv3.WithCountOnly())
	check("get from key", err)
	if err == nil {
		say("get from app, count only: count=%d kvs=%d", get.Count, len(get.Kvs))
	}

	txn, err := cli.Txn(ctx()).If(clientv3.Compare(clientv3.Version("foo"), "=", 2)).
		Then(clientv3.OpPut("foo", "qux"), clientv3.OpGet("foo")).Else(clientv3.OpGet("app/a")).Commit()
	check("txn then", err)
	if err == nil {
		say("txn version(foo)=2: succeeded=%v responses=%d", txn.Succeeded, len(txn.Responses))
		for _, r := range txn.Responses {
			if rr := r.GetResponseRange(); rr != nil {
				for _, k := range rr.Kvs {
					say("  %s", kv(k))
				}
			}
		}
	}
	txn, err = cli.Txn(ctx()).If(clientv3.Compare(clientv3.Value("foo"), "=", "nope")).
		Then(clientv3.OpDelete("foo")).Else(clientv3.OpGet("app/", clientv3.WithPrefix(), clientv3.WithCountOnly())).Commit()
	check("txn else", err)
	if err == nil {
		say("txn value(foo)=nope: succeeded=%v else-count=%d", txn.Succeeded, txn.Responses[0].GetResponseRange().Count)
	}
	_, err = cli.Txn(ctx()).Then(clientv3.OpPut("dup", "1"), clientv3.OpPut("dup", "2")).Commit()
	say("txn with a duplicate key: %v", err)

	start, err := cli.Get(ctx(), "w/x")
	check("watch start", err)
	wctx, cancelWatch := context.WithCancel(context.Background())
	wch := cli.Watch(wctx, "w/", clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(start.Header.Revision+1))
	for _, op := range []clientv3.Op{clientv3.OpPut("w/1", "a"), clientv3.OpPut("w/2", "b"), clientv3.OpPut("w/1", "c"), clientv3.OpDelete("w/1")} {
		_, err := cli.Do(ctx(), op)
		check("watched write", err)
	}
	seen := 0
	timeout := time.After(10 * time.Second)
	for seen < 4 {
		select {
		case resp := <-wch:
			check("watch", resp.Err())
			for _, ev := range resp.Events {
				prevValue := ""
				if ev.PrevKv != nil {
					prevValue = string(ev.PrevKv.Value)
				}
				say("watch event: %s %s value=%q prev=%q mod=%d", ev.Type, ev.Kv.Key, ev.Kv.Value, prevValue, ev.Kv.ModRevision)
				seen++
			}
		case <-timeout:
			say("watch: only %d events in 10 s", seen)
			seen = 4
		}
	}
	cancelWatch()

	grant, err := cli.Grant(ctx(), 30)
	check("grant", err)
	if err == nil {
		say("grant: id=%s ttl=%d", leaseName(grant.ID), grant.TTL)
		_, err = cli.Put(ctx(), "leased", "x", clientv3.WithLease(grant.ID))
		check("put with lease", err)
		ka, err := cli.KeepAliveOnce(ctx(), grant.ID)
		check("keep-alive once", err)
		if err == nil {
			say("keep-alive once: id=%s ttl=%d", leaseName(ka.ID), ka.TTL)
		}
		ttl, err := cli.TimeToLive(ctx(), grant.ID, clientv3.WithAttachedKeys())
		check("time to live", err)
		if err == nil {
			keys := []string{}
			for _, k := range ttl.Keys {
				keys = append(keys, string(k))
			}
			sort.Strings(keys)
			say("time to live: granted=%d alive=%v keys=%v", ttl.GrantedTTL, ttl.TTL > 25, keys)
		}
		leases, err := cli.Leases(ctx())
		check("leases", err)
		if err == nil {
			say("leases: %d", len(leases.Leases))
		}
		_, err = cli.Revoke(ctx(), grant.ID)
		check("revoke", err)
		get, err := cli.Get(ctx(), "leased")
		check("get leased", err)
		if err == nil {
			say("after revoke: leased count=%d", get.Count)
		}
	}
	_, err = cli.Revoke(ctx(), clientv3.LeaseID(424242))
	say("revoke an unknown lease: %v", err)
	_, err = cli.KeepAliveOnce(ctx(), clientv3.LeaseID(424242))
	say("keep-alive an unknown lease: %v", err)

	s, err := concurrency.NewSession(cli, concurrency.WithTTL(10))
	check("session", err)
	if err == nil {
		m := concurrency.NewMutex(s, "lock/")
		check("lock", m.Lock(ctx()))
		owner, err := cli.Get(ctx(), "lock/", clientv3.WithPrefix())
		check("lock owner", err)
		if err == nil {
			say("locked: %d holder(s), holder is this session: %v", owner.Count, string(owner.Kvs[0].Key) == m.Key())
		}
		check("unlock", m.Unlock(ctx()))
		after, err := cli.Get(ctx(), "lock/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		check("after unlock", err)
		if err == nil {
			say("unlocked: %d holder(s)", after.Count)
		}
		check("session close", s.Close())
	}

	now, err := cli.Get(ctx(), "foo")
	check("get now", err)
	if err == nil {
		_, err = cli.Get(ctx(), "foo", clientv3.WithRev(now.Header.Revision+100))
		say("get at a future revision: %v", err)
		_, err = cli.Compact(ctx(), now.Header.Revision-2)
		check("compact", err)
		_, err = cli.Get(ctx(), "foo", clientv3.WithRev(2))
		say("get at a compacted revision: %v", err)
		_, err = cli.Compact(ctx(), 1)
		say("compact to an older revision: %v", err)
	}
	_, err = cli.Put(ctx(), "", "empty")
	say("put an empty key: %v", err)
	_, err = cli.Put(ctx(), "big", strings.Repeat("x", 2*1024*1024))
	say("put 2 MiB: %v", err)
}

func failover(cli *clientv3.Client, writes int) {
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(5))
	if err != nil {
		fmt.Println("session:", err)
		os.Exit(1)
	}
	start, err := cli.Get(ctx(), "fo/")
	if err != nil {
		fmt.Println("start:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	order := 0
	last := int64(0)
	wch := cli.Watch(clientv3.WithRequireLeader(context.Background()), "fo/", clientv3.WithPrefix(), clientv3.WithRev(start.Header.Revision+1))
	go func() {
		for resp := range wch {
			if resp.Err() != nil {
				continue
			}
			mu.Lock()
			for _, ev := range resp.Events {
				seen[string(ev.Kv.Key)]++
				if ev.Kv.ModRevision <= last {
					order++
				}
				last = ev.Kv.ModRevision
			}
			mu.Unlock()
		}
	}()
	acked := []string{}
	deadline := time.Now().Add(90 * time.Second)
	for i := 0; len(acked) < writes && time.Now().Before(deadline); i++ {
		key := fmt.Sprintf("fo/%06d", i)
		pctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := cli.Put(pctx, key, "v")
		cancel()
		if err == nil {
			acked = append(acked, key)
			if len(acked)%50 == 0 {
				fmt.Printf("progress %d\n", len(acked))
			}
		}
	}
	// Every acknowledged put must reach the watch: wait (bounded) until all have.
	waitUntil := time.Now().Add(20 * time.Second)
	for time.Now().Before(waitUntil) {
		mu.Lock()
		missing := 0
		for _, k := range acked {
			if seen[k] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	dups, missing := 0, 0
	for _, n := range seen {
		if n > 1 {
			dups++
		}
	}
	for _, k := range acked {
		if seen[k] == 0 {
			missing++
		}
	}
	alive := "alive"
	select {
	case <-s.Done():
		alive = "expired"
	default:
		ttl, err := cli.TimeToLive(ctx(), s.Lease())
		if err != nil || ttl.TTL <= 0 {
			alive = "expired"
		}
	}
	fmt.Printf("summary acked=%d seen=%d duplicates=%d out_of_order=%d missing=%d lease=%s\n", len(acked), len(seen), dups, order, missing, alive)
}
