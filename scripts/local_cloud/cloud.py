"""Helpers of scripts/local-cloud: readiness checks and the Keystone objects, over plain HTTP
(standard library only). Everything talks to 127.0.0.1.

  cloud.py port-taken PORT
  cloud.py wait URL STATUS SECONDS
  cloud.py setup STATE_DIR KEYSTONE_URL CINDER_URL ADMIN_PASSWORD CINDER_PASSWORD DEMO_PASSWORD TOKEN_TTL
                 REGION2 CINDER2_URL          (both empty: RegionOne only)
  cloud.py wait-pools STATE_DIR SECONDS [REGION]
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


def public_endpoint(catalog, region):
    """The public block-storage URL of `region` in a token's catalog."""
    for s in catalog:
        if s["type"] == "block-storage":
            for e in s["endpoints"]:
                if e["interface"] == "public" and e.get("region_id", e.get("region")) == region:
                    return e["url"]
    raise SystemExit("no public block-storage endpoint in region %s" % region)


def yaml_quote(text):
    """A YAML double-quoted scalar (JSON's string syntax is a subset of YAML's)."""
    return json.dumps(text)


def setup(state, keystone, cinder, admin_pw, cinder_pw, demo_pw, ttl, region2, cinder2):
    """Creates the service project and the cinder user, the block-storage service and its
    endpoints in RegionOne (`cinder`) and in `region2` (`cinder2`, a second Cinder with its own
    database; none when `region2` is empty), and the demo project with a member user; writes admin.env, member.env and
    clouds.yaml (clouds admin, member and bad: the member with a wrong password)."""
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
    # RegionOne exists (keystone-manage bootstrap made it); the second region is made here.
    regions = [("RegionOne", cinder)]
    if region2:
        create("regions", "region", {"id": region2, "description": "the second Cinder of the local cloud"})
        regions.append((region2, cinder2))
    for region, url in regions:
        for interface in ("public", "internal"):
            create("endpoints", "endpoint", {"service_id": svc, "interface": interface, "region_id": region,
                                             "url": url + "/v3/%(project_id)s"})
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
            "LOCAL_CLOUD_CLOUDS_YAML=%s/clouds.yaml" % state,
        ]
        if region2:
            lines.append("LOCAL_CLOUD_REGION_TWO=%s" % region2)
        with open("%s/%s.env" % (state, name), "w") as f:
            f.write("".join("export %s\n" % l for l in lines))
    with open("%s/admin_project_id" % state, "w") as f:
        f.write(admin_project)
    # clouds.yaml for job specs (`run --config`): each cloud is one user scoped to its project;
    # `regions` lists both (the first is the default). `bad` is the member with a wrong password.
    lines = ["# Written by scripts/local-cloud up: the local cloud's users, for --config specs.", "clouds:"]
    for name, user, pw, project in (("admin", "admin", admin_pw, "admin"), ("member", "demo", demo_pw, "demo"),
                                    ("bad", "demo", "not-" + demo_pw, "demo")):
        lines += [
            "  %s:" % name,
            "    auth:",
            "      auth_url: %s" % yaml_quote(keystone + "/v3"),
            "      username: %s" % yaml_quote(user),
            "      password: %s" % yaml_quote(pw),
            "      user_domain_name: Default",
            "      project_name: %s" % yaml_quote(project),
            "      project_domain_name: Default",
            "    auth_type: password",
            "    interface: public",
            "    regions: [%s]" % ", ".join(yaml_quote(r) for r, _ in regions),
        ]
    with open("%s/clouds.yaml" % state, "w") as f:
        f.write("".join(l + "\n" for l in lines))


def wait_pools(state, seconds, region="RegionOne"):
    """Waits until the scheduler of `region`'s Cinder lists the fake backend's pool."""
    env = {}
    for line in open("%s/admin.env" % state):
        k, _, v = line.strip().removeprefix("export ").partition("=")
        env[k] = v
    keystone = env["OS_AUTH_URL"].rsplit("/v3", 1)[0]
    deadline = time.time() + float(seconds)
    pools = []
    while time.time() < deadline:
        tok, info = token(keystone, "admin", env["OS_PASSWORD"], "admin")
        cinder = public_endpoint(info["catalog"], region)
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
        setup(*argv[2:11])
    elif cmd == "wait-pools":
        wait_pools(*argv[2:5])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
