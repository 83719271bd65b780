"""The benchmark jobs with openstacksdk (Python), configured from the same OS_* variables:
`--get ID`, `--count` (lazy generator), `--collect`. Run by benches/snapshots.rs."""
import sys

import openstack

conn = openstack.connect()
args = sys.argv[1:]
if args[:1] == ["--get"]:
    print(conn.block_storage.get_snapshot(args[1]).id)
elif args[:1] == ["--collect"]:
    print(len(list(conn.block_storage.snapshots(details=True))))
else:
    n = 0
    for _ in conn.block_storage.snapshots(details=True):
        n += 1
    print(n)
