"""Re-records fixtures/ against a running local cloud (scripts/record-fixtures runs it).

scenario.jsonl beside this file is the recorded session the fixtures come from: every
request, in order (371 exchanges at microversions 3.0 to 3.71, as the admin and the demo
member). This script sends them again to the real Keystone and Cinder, with the set-up the
session needs between steps (extra volumes, volume states, an attachment, a revoked token,
the demo project's quota), and writes the exchanges named by the files already in fixtures/.

Ids are normalised so that a re-recording gives small diffs: every id the real cloud hands
out (projects, users, volumes, snapshots, catalog entries) is written back as the id the
scenario has for it. Tokens and passwords are redacted. Timestamps and request ids are the
new ones.

  python record.py STATE_DIR FIXTURES_DIR
"""

import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ID = re.compile(r"\b(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})\b")
# The scenario's (and the fixtures') addresses; the cloud may listen elsewhere
# (LOCAL_CLOUD_KEYSTONE_PORT, LOCAL_CLOUD_CINDER_PORT, as scripts/local-cloud): requests are
# sent to the real ports and the answers written back with the scenario's.
SCENARIO_KEYSTONE = "http://127.0.0.1:5000"
SCENARIO_CINDER = "http://127.0.0.1:8776"
KEYSTONE = "http://127.0.0.1:%s" % os.environ.get("LOCAL_CLOUD_KEYSTONE_PORT", "5000")
CINDER = "http://127.0.0.1:%s" % os.environ.get("LOCAL_CLOUD_CINDER_PORT", "8776")
# Volumes the scenario uses without creating them in a recorded step, and their owners.
EXTRA_VOLUMES = {
    "f04820e1-ccb3-42cb-998b-a548209ad3ed": "admin",
    "b5f67fa4-130e-42b2-81f2-0713fe8d825e": "admin",
    "c21d8b91-3309-4fc5-acf4-c3342a78df0b": "demo",
    "a1bd4642-4027-42b6-8945-47d04abc6df8": "demo",
}


def env_file(path):
    env = {}
    for line in open(path):
        k, _, v = line.strip().removeprefix("export ").partition("=")
        env[k] = v
    return env


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def send(method, url, body=None, headers=None):
    data = body.encode() if isinstance(body, str) else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    try:
        with OPENER.open(req, timeout=60) as resp:
            return resp.status, resp.reason, list(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.reason, list(e.headers.items()), e.read()


class Recorder:
    def __init__(self, state, fixtures):
        self.fixtures = fixtures
        self.wanted = {f[: -len(".request")] for f in os.listdir(fixtures) if f.endswith(".request")}
        self.admin_env = env_file(os.path.join(state, "admin.env"))
        self.demo_env = env_file(os.path.join(state, "member.env"))
        self.passwords = {"admin": self.admin_env["OS_PASSWORD"], "demo": self.demo_env["OS_PASSWORD"]}
        self.idmap = {}  # scenario id -> real id
        self.tokens = {}
        self.projects = {}
        self.warnings = []
        self.written = 0
        for user, project in (("admin", "admin"), ("demo", "demo")):
            tok, info = self.login(user, project)
            self.tokens[user] = tok
            self.projects[user] = info["project"]["id"]
        self.idmap["27b115259e6a4d39a32f642f7bfea2a0"] = self.projects["admin"]
        self.idmap["d870de6416de4d15adce66c98b81f10a"] = self.projects["demo"]

    def login(self, user, project):
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": self.passwords[user]}}},
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
        status, _, headers, raw = send("POST", KEYSTONE + "/v3/auth/tokens", body)
        assert status == 201, raw
        return dict(headers)["X-Subject-Token"], json.loads(raw)["token"]

    def cinder(self, user, method, path, body=None, version="3.0"):
        url = "%s/v3/%s/%s" % (CINDER, self.projects[user], path)
        headers = {"X-Auth-Token": self.tokens[user], "OpenStack-API-Version": "volume " + version}
        status, _, _, raw = send(method, url, body, headers)
        if status >= 300:
            raise SystemExit("set-up call %s %s answered %s: %s" % (method, path, status, raw[:300]))
        return json.loads(raw) if raw.strip() else None

    def wait_volume(self, user, vid, want):
        for _ in range(300):
            if self.cinder(user, "GET", "volumes/" + vid)["volume"]["status"] == want:
                return
            time.sleep(0.1)
        raise SystemExit("volume %s never became %s" % (vid, want))

    def real(self, text):
        text = text.replace(SCENARIO_KEYSTONE, KEYSTONE).replace(SCENARIO_CINDER, CINDER)
        return ID.sub(lambda m: self.idmap.get(m.group(0), m.group(0)), text)

    def learn(self, recorded, actual):
        """Maps the ids of a recorded answer to the real answer's, walking both together."""
        if isinstance(recorded, dict) and isinstance(actual, dict):
            for k, v in recorded.items():
                if k in actual:
                    self.learn(v, actual[k])
        elif isinstance(recorded, list) and isinstance(actual, list):
            for a, b in zip(recorded, actual):
                self.learn(a, b)
        elif isinstance(recorded, str) and isinstance(actual, str) and ID.fullmatch(recorded) and ID.fullmatch(actual):
            self.idmap.setdefault(recorded, actual)

    def before(self, step):
        name = step["name"]
        text = step["url"] + (step["body"] or "")
        for vid, owner in EXTRA_VOLUMES.items():
            if vid in text and vid not in self.idmap:
                created = self.cinder(owner, "POST", "volumes", {"volume": {"size": 1, "name": "recorded"}})
                self.idmap[vid] = created["volume"]["id"]
                self.wait_volume(owner, self.idmap[vid], "available")
        try:
            body = json.loads(step["body"] or "{}")
        except ValueError:  # the malformed-JSON steps
            body = {}
        snapshot = body.get("snapshot") if isinstance(body, dict) else None
        volume = self.idmap.get(snapshot.get("volume_id") or "") if isinstance(snapshot, dict) else None
        if name.endswith("_snapshot_create_volume_in_error") and volume:
            self.cinder("admin", "POST", "volumes/%s/action" % volume, {"os-reset_status": {"status": "error"}})
        if name.endswith("_snapshot_create_volume_creating") and volume:
            self.cinder("admin", "POST", "volumes/%s/action" % volume, {"os-reset_status": {"status": "creating"}})
        if name.endswith("_snapshot_create_volume_in_use_no_force") and volume:
            connector = {"initiator": "iqn.1993-08.org.debian:01:rec", "ip": "127.0.0.1", "platform": "x86_64",
                         "host": "recorder", "os_type": "linux2", "multipath": False}
            att = self.cinder("admin", "POST", "attachments", {"attachment": {
                "volume_uuid": volume, "instance_uuid": "8a1b2c3d-0000-4000-8000-000000000002", "connector": connector}}, "3.44")
            self.cinder("admin", "POST", "attachments/%s/action" % att["attachment"]["id"], {"os-complete": {}}, "3.44")
            self.wait_volume("admin", volume, "in-use")
        snap_in_path = re.search(r"/snapshots/([0-9a-f-]{36})/action$|/snapshots/([0-9a-f-]{36})$", self.real(step["url"]))
        if snap_in_path and (name.endswith("_demo_action_update_status_allowed") or name.endswith("_snapshot_delete_while_creating")):
            # The session had these snapshots in "creating" here (a race the fake driver is too
            # quick to lose again): put them there.
            sid = snap_in_path.group(1) or snap_in_path.group(2)
            self.cinder("admin", "POST", "snapshots/%s/action" % sid, {"os-reset_status": {"status": "creating"}})
        if name == "mv30_demo_snapshot_create":
            self.cinder("admin", "PUT", "os-quota-sets/" + self.projects["demo"], {"quota_set": {"snapshots": 1}})
        if name == "mv371_volume_create":
            # The session cleared the 3.0 part's snapshots before the 3.71 part (the demo
            # project's quota is one snapshot, and listings start empty).
            for s in self.cinder("admin", "GET", "snapshots?all_tenants=1")["snapshots"]:
                self.cinder("admin", "POST", "snapshots/%s/action" % s["id"], {"os-force_delete": {}})
            for _ in range(200):
                if not self.cinder("admin", "GET", "snapshots?all_tenants=1")["snapshots"]:
                    break
                time.sleep(0.1)

    def token_for(self, step):
        user = step["user"]
        if user in ("admin", "demo"):
            return self.tokens[user]
        if user == "raw:<token:revoked>":
            tok, _ = self.login("admin", "admin")
            status, _, _, _ = send("DELETE", KEYSTONE + "/v3/auth/tokens", headers={"X-Auth-Token": self.tokens["admin"], "X-Subject-Token": tok})
            assert status == 204
            return tok
        return user[len("raw:"):] if user else None

    def run(self, step):
        self.before(step)
        url = self.real(step["url"])
        body = step["body"]
        if body:
            for user, pw in self.passwords.items():
                if '"name": "%s"' % user in body:
                    body = body.replace("<password>", pw)
            body = self.real(body)
        headers = dict(step["headers"])
        tok = self.token_for(step)
        if tok:
            headers["X-Auth-Token"] = tok
        same, got = True, None
        for attempt in range(50):
            status, reason, rheaders, raw = send(step["method"], url, body, headers)
            same = status == step["status"]
            if step.get("poll"):
                # A wait of the session (a volume reaching a status, or gone): the same
                # request until the answer is the session's, as the session polled.
                for _ in range(600):
                    got = json.loads(raw).get("volume", {}).get("status") if status == 200 and raw.strip() else None
                    same = status == step["status"] and got == step.get("volume_status")
                    if same:
                        break
                    time.sleep(0.1)
                    status, reason, rheaders, raw = send(step["method"], url, body, headers)
                got = None
                break
            if step["method"] != "GET" or "snapshot_status" not in step or status != 200:
                break
            got = json.loads(raw).get("snapshot", {}).get("status")
            same = got == step["snapshot_status"]
            if same or attempt == 49:
                break
            time.sleep(0.1)
        if not same:
            # A race the session won (e.g. "creating" right after create): keep what it saw.
            kept = " (fixture kept as it was)" if step["name"] in self.wanted else ""
            seen = "HTTP %s" % status + (", snapshot %s" % got if got else "")
            had = "HTTP %s" % step["status"] + (", snapshot %s" % step["snapshot_status"] if got else "")
            self.warnings.append("%s: %s where the scenario had %s%s" % (step["name"], seen, had, kept))
        try:
            parsed = json.loads(raw) if raw.strip() else None
        except ValueError:
            parsed = None
        if "response" in step and parsed is not None:
            self.learn(step["response"], parsed)
        if step["name"].endswith("_volume_create") and isinstance(parsed, dict):
            # The session waited for its volume before snapshotting it.
            owner = "demo" if step["user"] == "demo" else "admin"
            self.wait_volume(owner, parsed["volume"]["id"], "available")
        old = os.path.join(self.fixtures, step["name"] + ".json")
        if step["name"] in self.wanted and parsed is not None and os.path.exists(old):
            # Listings name snapshots made in steps whose answers the scenario does not keep.
            try:
                self.learn(json.load(open(old)), parsed)
            except ValueError:
                pass
        if step["name"] in self.wanted and same:
            self.write(step, body, headers, status, reason, rheaders, raw)

    def normal(self, text):
        text = text.replace(KEYSTONE, SCENARIO_KEYSTONE).replace(CINDER, SCENARIO_CINDER)
        back = {real: stable for stable, real in self.idmap.items()}
        return ID.sub(lambda m: back.get(m.group(0), m.group(0)), text)

    def write(self, step, body, headers, status, reason, rheaders, raw):
        self.written += 1
        name = step["name"]
        lines = ["%s %s" % (step["method"], step["url"]), "Accept: application/json"]
        for k, v in headers.items():
            if k == "X-Auth-Token":
                v = step["user"] if not step["user"].startswith("raw:") else step["user"][4:]
                v = "<token:%s>" % v if step["user"] in ("admin", "demo") else v
            lines.append("%s: %s" % (k, v))
        text = "\n".join(lines) + "\n\n" + (step["body"] or "")
        with open(os.path.join(self.fixtures, name + ".request"), "w") as f:
            f.write(text)
        who = "admin" if "admin" in name else "demo"
        hl = ["HTTP/1.1 %s %s" % (status, reason)]
        for k, v in rheaders:
            if k.lower() == "x-subject-token":
                v = "<redacted:%s>" % who
            hl.append("%s: %s" % (k, self.normal(v)))
        with open(os.path.join(self.fixtures, name + ".headers"), "w") as f:
            f.write("\n".join(hl) + "\n")
        for ext in ("json", "body"):
            path = os.path.join(self.fixtures, "%s.%s" % (name, ext))
            if os.path.exists(path):
                os.remove(path)
        try:
            json.loads(raw)
            ext = "json"
        except ValueError:
            ext = "body"
        with open(os.path.join(self.fixtures, "%s.%s" % (name, ext)), "w") as f:
            f.write(self.normal(raw.decode("utf-8", "replace")))


def main(state, fixtures):
    rec = Recorder(state, fixtures)
    steps = [json.loads(l) for l in open(os.path.join(HERE, "scenario.jsonl"))]
    for step in steps:
        rec.run(step)
    print("recorded %d of the %d fixtures, replaying %d exchanges" % (rec.written, len(rec.wanted), len(steps)))
    for w in rec.warnings:
        print("note: " + w)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
