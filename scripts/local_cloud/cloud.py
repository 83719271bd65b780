"""Helpers of scripts/local-cloud: readiness checks and the Keystone objects, over plain HTTP
(standard library only). Everything talks to 127.0.0.1.

  cloud.py port-taken PORT
  cloud.py wait URL STATUS SECONDS
  cloud.py setup STATE_DIR KEYSTONE_URL CINDER_URL ADMIN_PASSWORD CINDER_PASSWORD DEMO_PASSWORD TOKEN_TTL
  cloud.py wait-pools STATE_DIR SECONDS
"""

import json
import socket
import sys
import time
import urllib.error
import urllib.request


def call(method, url, body=None, token=None, expect=(200, 201, 204)):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, headers, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, e.headers, e.read()
    if status not in expect:
        raise SystemExit("%s %s answered %s: %s" % (method, url, status, raw[:500].decode(errors="replace")))
    return status, headers, (json.loads(raw) if raw.strip() else None)


def port_taken(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", int(port))) == 0


def wait(url, status, seconds):
    deadline = time.time() + float(seconds)
    last = None
    while time.time() < deadline:
        try:
            req = urllib.request.Request(url, headers={"Accept": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                last = resp.status
        except urllib.error.HTTPError as e:
            last = e.code
        except OSError as e:
            last = str(e)
        if str(last) == str(status):
            return
        time.sleep(0.3)
    raise SystemExit("%s did not answer %s within %s s (last: %s)" % (url, status, seconds, last))


def token(keystone, user, password, project):
    body = {"auth": {"identity": {"methods": ["password"],
                                  "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}}},
                     "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    _, headers, resp = call("POST", keystone + "/v3/auth/tokens", body)
    return headers["X-Subject-Token"], resp["token"]


def setup(state, keystone, cinder, admin_pw, cinder_pw, demo_pw, ttl):
    """Creates the service project and the cinder user, the block-storage service and its
    endpoints, and the demo project with a member user; writes admin.env and member.env."""
    tok, info = token(keystone, "admin", admin_pw, "admin")
    admin_project = info["project"]["id"]
    v3 = keystone + "/v3"

    def create(collection, key, body):
        return call("POST", "%s/%s" % (v3, collection), {key: body}, tok)[2][key]["id"]

    def role_id(name):
        roles = call("GET", "%s/roles?name=%s" % (v3, name), token=tok)[2]["roles"]
        return roles[0]["id"] if roles else create("roles", "role", {"name": name})

    def grant(project, user, role):
        call("PUT", "%s/projects/%s/users/%s/roles/%s" % (v3, project, user, role_id(role)), token=tok)

    service_project = create("projects", "project", {"name": "service", "domain_id": "default"})
    cinder_user = create("users", "user", {"name": "cinder", "password": cinder_pw, "domain_id": "default"})
    grant(service_project, cinder_user, "admin")
    grant(service_project, cinder_user, "service")
    svc = create("services", "service", {"type": "block-storage", "name": "cinderv3"})
    for interface in ("public", "internal"):
        create("endpoints", "endpoint", {"service_id": svc, "interface": interface, "region_id": "RegionOne",
                                         "url": cinder + "/v3/%(project_id)s"})
    demo_project = create("projects", "project", {"name": "demo", "domain_id": "default"})
    demo_user = create("users", "user", {"name": "demo", "password": demo_pw, "domain_id": "default"})
    grant(demo_project, demo_user, "member")

    for name, user, pw, project in (("admin", "admin", admin_pw, "admin"), ("member", "demo", demo_pw, "demo")):
        lines = [
            "OS_AUTH_URL=%s/v3" % keystone,
            "OS_AUTH_TYPE=password",
            "OS_USERNAME=%s" % user,
            "OS_PASSWORD=%s" % pw,
            "OS_USER_DOMAIN_NAME=Default",
            "OS_PROJECT_NAME=%s" % project,
            "OS_PROJECT_DOMAIN_NAME=Default",
            "OS_REGION_NAME=RegionOne",
            "OS_INTERFACE=public",
            "OS_IDENTITY_API_VERSION=3",
            "LOCAL_CLOUD_DIR=%s" % state,
            "LOCAL_CLOUD_TOKEN_TTL=%s" % ttl,
            "LOCAL_CLOUD_ADMIN_PROJECT_ID=%s" % admin_project,
            "LOCAL_CLOUD_DEMO_PROJECT_ID=%s" % demo_project,
        ]
        with open("%s/%s.env" % (state, name), "w") as f:
            f.write("".join("export %s\n" % l for l in lines))
    with open("%s/admin_project_id" % state, "w") as f:
        f.write(admin_project)


def wait_pools(state, seconds):
    """Waits until the scheduler lists the fake backend's pool."""
    env = {}
    for line in open("%s/admin.env" % state):
        k, _, v = line.strip().removeprefix("export ").partition("=")
        env[k] = v
    keystone = env["OS_AUTH_URL"].rsplit("/v3", 1)[0]
    deadline = time.time() + float(seconds)
    pools = []
    while time.time() < deadline:
        tok, info = token(keystone, "admin", env["OS_PASSWORD"], "admin")
        cinder = next(e["url"] for s in info["catalog"] if s["type"] == "block-storage"
                      for e in s["endpoints"] if e["interface"] == "public")
        _, _, body = call("GET", cinder + "/scheduler-stats/get_pools", token=tok, expect=(200, 503))
        pools = [p["name"] for p in (body or {}).get("pools", [])]
        if any(p.endswith("@fake#fake") for p in pools):
            return
        time.sleep(0.5)
    raise SystemExit("the fake backend did not become schedulable within %s s (pools: %s)" % (seconds, pools))


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "port-taken":
        sys.exit(0 if port_taken(argv[2]) else 1)
    if cmd == "wait":
        wait(argv[2], argv[3], argv[4])
    elif cmd == "setup":
        setup(*argv[2:9])
    elif cmd == "wait-pools":
        wait_pools(argv[2], argv[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
