//! The files an image ships: each base's directories, users and programs,
//! and the files the catalogue's software brings (nginx's html directory,
//! httpd's `It works!`, redis's `/data`). Built once per image family and
//! shared by every container of it.
//!
//! Programs: `/bin` (or `/usr/bin`) holds exactly the programs the
//! simulated shell can run for that image (see `commands`), plus the
//! image's own software; the image's other programs are left out.

use crate::engine::sort::SortStable;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::filesystem::{Fs, Inode};
use super::images::{self, Base, ImageName};

/// When the catalogue's images were built (2025-05-20), as their files show.
pub const IMAGE_BUILD_TIME: i64 = 1_747_699_200;

/// Applets of the busybox binary that the simulated shell runs.
pub const BUSYBOX_PROGRAMS: &[&str] = &[
    "[", "ash", "awk", "base64", "basename", "cat", "chgrp", "chmod", "chown", "cp", "cut", "date", "df", "dirname", "echo", "env", "false", "find", "grep", "head", "hostname", "id",
    "kill", "ln", "ls", "mkdir", "mount", "mv", "nc", "nslookup", "ping", "printenv", "printf", "ps", "pwd", "readlink", "rm", "rmdir", "sed", "seq", "sh",
    "sleep", "sort", "tail", "tee", "telnet", "test", "touch", "tr", "true", "uname", "uniq", "wc", "wget", "which", "whoami", "xargs",
];

/// Debian 12 programs (coreutils, dash, bash, grep, mount, …) the simulated shell runs.
pub const DEBIAN_PROGRAMS: &[&str] = &[
    "[", "awk", "base64", "basename", "bash", "cat", "chgrp", "chmod", "chown", "cp", "cut", "dash", "date", "df", "dirname", "echo", "env", "false", "find", "grep", "head", "hostname",
    "id", "kill", "ln", "ls", "mawk", "mkdir", "mount", "mv", "printenv", "printf", "pwd", "readlink", "rm", "rmdir", "sed", "seq", "sh", "sleep", "sort", "tail",
    "tee", "test", "touch", "tr", "true", "uname", "uniq", "wc", "which", "whoami", "xargs",
];

const BUSYBOX_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
";

const BUSYBOX_GROUP: &str = "root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nobody:x:65534:
";

const ALPINE_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin
sync:x:5:0:sync:/sbin:/bin/sync
shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown
halt:x:7:0:halt:/sbin:/sbin/halt
mail:x:8:12:mail:/var/mail:/sbin/nologin
news:x:9:13:news:/usr/lib/news:/sbin/nologin
uucp:x:10:14:uucp:/var/spool/uucppublic:/sbin/nologin
cron:x:16:16:cron:/var/spool/cron:/sbin/nologin
ftp:x:21:21::/var/lib/ftp:/sbin/nologin
sshd:x:22:22:sshd:/dev/null:/sbin/nologin
games:x:35:35:games:/usr/games:/sbin/nologin
ntp:x:123:123:NTP:/var/empty:/sbin/nologin
guest:x:405:100:guest:/dev/null:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
";

const ALPINE_GROUP: &str = "root:x:0:root
bin:x:1:root,bin,daemon
daemon:x:2:root,bin,daemon
sys:x:3:root,bin
adm:x:4:root,daemon
tty:x:5:
disk:x:6:root
lp:x:7:lp
kmem:x:9:
wheel:x:10:root
floppy:x:11:root
mail:x:12:mail
news:x:13:news
uucp:x:14:uucp
cron:x:16:cron
audio:x:18:
cdrom:x:19:
dialout:x:20:root
ftp:x:21:
sshd:x:22:
input:x:23:
tape:x:26:root
video:x:27:root
netdev:x:28:
kvm:x:34:kvm
games:x:35:
shadow:x:42:
www-data:x:82:
users:x:100:games
ntp:x:123:
abuild:x:300:
utmp:x:406:
ping:x:999:
nogroup:x:65533:
nobody:x:65534:
";

const DISTROLESS_PASSWD: &str = "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
const DISTROLESS_GROUP: &str = "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n";

/// The image's `/etc/passwd` and `/etc/group`, as it ships them.
pub fn account_files(base: Base) -> (&'static str, &'static str) {
    match base {
        Base::Busybox => (BUSYBOX_PASSWD, BUSYBOX_GROUP),
        Base::Alpine => (ALPINE_PASSWD, ALPINE_GROUP),
        Base::Debian => (DEBIAN_PASSWD, DEBIAN_GROUP),
        Base::Distroless => (DISTROLESS_PASSWD, DISTROLESS_GROUP),
    }
}

const DEBIAN_PASSWD: &str = "root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
games:x:5:60:games:/usr/games:/usr/sbin/nologin
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin
mail:x:8:8:mail:/var/mail:/usr/sbin/nologin
news:x:9:9:news:/var/spool/news:/usr/sbin/nologin
uucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin
proxy:x:13:13:proxy:/bin:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
backup:x:34:34:backup:/var/backups:/usr/sbin/nologin
list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin
irc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin
_apt:x:42:65534::/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
";

const DEBIAN_GROUP: &str = "root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
news:x:9:
uucp:x:10:
man:x:12:
proxy:x:13:
kmem:x:15:
dialout:x:20:
fax:x:21:
voice:x:22:
cdrom:x:24:
floppy:x:25:
tape:x:26:
sudo:x:27:
audio:x:29:
dip:x:30:
www-data:x:33:
backup:x:34:
operator:x:37:
list:x:38:
irc:x:39:
src:x:40:
shadow:x:42:
utmp:x:43:
video:x:44:
sasl:x:45:
plugdev:x:46:
staff:x:50:
games:x:60:
users:x:100:
nogroup:x:65534:
";

const DEBIAN_OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"
NAME=\"Debian GNU/Linux\"
VERSION_ID=\"12\"
VERSION=\"12 (bookworm)\"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL=\"https://www.debian.org/\"
SUPPORT_URL=\"https://www.debian.org/support\"
BUG_REPORT_URL=\"https://bugs.debian.org/\"
";

const ALPINE_OS_RELEASE: &str = "NAME=\"Alpine Linux\"
ID=alpine
VERSION_ID=3.22.0
PRETTY_NAME=\"Alpine Linux v3.22\"
HOME_URL=\"https://alpinelinux.org/\"
BUG_REPORT_URL=\"https://gitlab.alpinelinux.org/alpine/aports/-/issues\"
";

/// When the nginx image's html files were written (Unix seconds).
pub const NGINX_HTML_MTIME: i64 = 1_744_804_871;

pub const NGINX_INDEX: &str = "<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href=\"http://nginx.org/\">nginx.org</a>.<br/>
Commercial support is available at
<a href=\"http://nginx.com/\">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
";

pub const NGINX_50X: &str = "<!DOCTYPE html>
<html>
<head>
<title>Error</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
<p>If you are the system administrator of this resource then you should check
the error log for details.</p>
<p><em>Faithfully yours, nginx.</em></p>
</body>
</html>
";

const NGINX_CONF: &str = "
user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;


events {
    worker_connections  1024;
}


http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] \"$request\" '
                      '$status $body_bytes_sent \"$http_referer\" '
                      '\"$http_user_agent\" \"$http_x_forwarded_for\"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    #tcp_nopush     on;

    keepalive_timeout  65;

    #gzip  on;

    include /etc/nginx/conf.d/*.conf;
}
";

const NGINX_DEFAULT_CONF: &str = "server {
    listen       80;
    listen  [::]:80;
    server_name  localhost;

    #access_log  /var/log/nginx/host.access.log  main;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    #error_page  404              /404.html;

    # redirect server error pages to the static page /50x.html
    #
    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
";

pub const HTTPD_INDEX: &str = "<html><body><h1>It works!</h1></body></html>\n";

/// The directory a container of the image starts in.
pub fn workdir(image: &ImageName) -> &'static str {
    match family(image) {
        "redis" => "/data",
        "httpd" => "/usr/local/apache2",
        _ => "/",
    }
}

/// Which software's files an image carries beyond its base.
fn family(image: &ImageName) -> &'static str {
    let repo = image.short_repository();
    let last = repo.rsplit('/').next().unwrap_or("");
    match last {
        "nginx" | "nginx-slim" => "nginx",
        "httpd" | "apache" => "httpd",
        "redis" => "redis",
        "mongo" => "mongo",
        "kubia" | "kubia-unhealthy" | "kubia-pet" | "kubia-pet-peers" => "kubia",
        "coredns" => "coredns",
        "http-echo" => "http-echo",
        "agnhost" => "agnhost",
        "controller" if repo.contains("ingress-nginx") => "ingress-nginx",
        "kube-webhook-certgen" => "kube-webhook-certgen",
        _ => "",
    }
}

thread_local! {
    static ROOTS: RefCell<BTreeMap<(Base, &'static str, Vec<&'static str>), Rc<Fs>>> = const { RefCell::new(BTreeMap::new()) };
}

/// The image's files, shared by all containers of the same image family.
pub fn image_root(image: &ImageName) -> Rc<Fs> {
    let entry = images::lookup(image);
    let base = entry.as_ref().map_or(Base::Debian, |e| e.base);
    let extra: Vec<&'static str> = entry.as_ref().map(|e| e.programs.to_vec()).unwrap_or_default();
    let fam = family(image);
    let key = (base, fam, extra.clone());
    if let Some(found) = ROOTS.with(|r| r.borrow().get(&key).cloned()) {
        return found;
    }
    let built = Rc::new(build(base, fam, &extra));
    ROOTS.with(|r| r.borrow_mut().insert(key, built.clone()));
    built
}

/// The learner's own machine, where a terminal line with a pipe runs
/// (`kubectl get secret s -o jsonpath='{.data.password}' | base64 -d`): a
/// Debian system with GNU coreutils, and kubectl and the other host
/// commands on its `$PATH` (they run against the cluster).
pub fn learner_root() -> Rc<Fs> {
    let key = (Base::Debian, "learner", LEARNER_PROGRAMS.to_vec());
    if let Some(found) = ROOTS.with(|r| r.borrow().get(&key).cloned()) {
        return found;
    }
    let built = Rc::new(build(Base::Debian, "", LEARNER_PROGRAMS));
    ROOTS.with(|r| r.borrow_mut().insert(key, built.clone()));
    built
}

/// What the learner's machine has besides Debian's programs.
pub const LEARNER_PROGRAMS: &[&str] = &["kubectl", "curl", "wget", "minikube", "traffic", "jq"];

/// The programs the image has, by name.
pub fn programs(base: Base, extra: &[&'static str]) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = match base {
        Base::Busybox | Base::Alpine => BUSYBOX_PROGRAMS.to_vec(),
        Base::Debian => DEBIAN_PROGRAMS.to_vec(),
        Base::Distroless => Vec::new(),
    };
    all.extend(extra.iter().copied());
    all.sort_stable();
    all.dedup();
    all
}

fn build(base: Base, fam: &str, extra: &[&'static str]) -> Fs {
    let t = IMAGE_BUILD_TIME;
    let mut fs = Fs::new();
    let dir = |fs: &mut Fs, p: &str, mode: u32| fs.insert(p, Inode::dir(mode, t));
    let file = |fs: &mut Fs, p: &str, content: &str, mode: u32| fs.insert(p, Inode::file(content, mode, t));
    fs.insert("/", Inode::dir(0o755, t));
    let common = ["/dev", "/etc", "/home", "/proc", "/root", "/sys", "/tmp", "/usr", "/var"];
    for d in common {
        dir(&mut fs, d, if d == "/tmp" { 0o1777 } else if d == "/root" { 0o700 } else { 0o755 });
    }
    let (passwd, group) = account_files(base);
    file(&mut fs, "/etc/passwd", passwd, 0o644);
    file(&mut fs, "/etc/group", group, 0o644);
    let bin_dir = match base {
        Base::Busybox => {
            for d in ["/bin", "/lib", "/lib64", "/usr/sbin", "/var/spool/mail", "/var/www"] {
                dir(&mut fs, d, 0o755);
            }
            file(&mut fs, "/etc/shadow", "root:*:10933:0:99999:7:::\ndaemon:*:10933:0:99999:7:::\nbin:*:10933:0:99999:7:::\nsys:*:10933:0:99999:7:::\nsync:*:10933:0:99999:7:::\nmail:*:10933:0:99999:7:::\nwww-data:*:10933:0:99999:7:::\noperator:*:10933:0:99999:7:::\nnobody:*:10933:0:99999:7:::\n", 0o600);
            file(&mut fs, "/etc/nsswitch.conf", "hosts: files dns\nnetworks: files\n", 0o644);
            "/bin"
        }
        Base::Alpine => {
            for d in ["/bin", "/lib", "/media", "/mnt", "/opt", "/run", "/sbin", "/srv", "/usr/bin", "/usr/lib", "/usr/local", "/usr/sbin", "/usr/share", "/var/cache", "/var/lib", "/var/log", "/etc/apk"] {
                dir(&mut fs, d, 0o755);
            }
            file(&mut fs, "/etc/alpine-release", "3.22.0\n", 0o644);
            file(&mut fs, "/etc/os-release", ALPINE_OS_RELEASE, 0o644);
            file(&mut fs, "/etc/hostname", "localhost\n", 0o644);
            "/bin"
        }
        Base::Debian => {
            for d in ["/boot", "/media", "/mnt", "/opt", "/run", "/srv", "/usr/bin", "/usr/lib", "/usr/lib64", "/usr/local/bin", "/usr/sbin", "/usr/share", "/var/cache", "/var/lib", "/var/log", "/var/tmp"] {
                dir(&mut fs, d, if d == "/var/tmp" { 0o1777 } else { 0o755 });
            }
            for (link, target) in [("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64"), ("/sbin", "usr/sbin")] {
                fs.insert(link, Inode::symlink(target, t));
            }
            file(&mut fs, "/etc/os-release", DEBIAN_OS_RELEASE, 0o644);
            file(&mut fs, "/etc/debian_version", "12.11\n", 0o644);
            "/usr/bin"
        }
        Base::Distroless => {
            "/bin"
        }
    };
    let image_own = |p: &str| matches!(p, "nginx" | "httpd" | "apachectl" | "redis-server" | "redis-cli" | "mongod" | "mongosh" | "node" | "npm" | "envsubst");
    for program in programs(base, extra) {
        let at = if image_own(program) {
            match base {
                Base::Debian if program.starts_with("redis") || program.starts_with("node") || program == "npm" => "/usr/local/bin",
                Base::Debian if program == "httpd" || program == "apachectl" => "/usr/local/apache2/bin",
                Base::Debian => "/usr/sbin",
                _ => "/usr/sbin",
            }
        } else {
            bin_dir
        };
        // Busybox applets are links to one binary; programs elsewhere are files.
        let body = if matches!(base, Base::Busybox | Base::Alpine) && !image_own(program) { "\u{7f}ELF busybox" } else { "\u{7f}ELF" };
        file(&mut fs, &format!("{at}/{program}"), body, 0o755);
    }
    match fam {
        "nginx" => {
            dir(&mut fs, "/docker-entrypoint.d", 0o755);
            file(&mut fs, "/docker-entrypoint.sh", "#!/bin/sh\n# vim:sw=4:ts=4:et\n\nset -e\n", 0o775);
            for script in ["10-listen-on-ipv6-by-default.sh", "15-local-resolvers.envsh", "20-envsubst-on-templates.sh", "30-tune-worker-processes.sh"] {
                file(&mut fs, &format!("/docker-entrypoint.d/{script}"), "#!/bin/sh\n", 0o775);
            }
            // As nginx's package wrote them (what `Last-Modified` and the ETag say).
            fs.insert("/usr/share/nginx/html/index.html", Inode::file(NGINX_INDEX, 0o644, NGINX_HTML_MTIME));
            fs.insert("/usr/share/nginx/html/50x.html", Inode::file(NGINX_50X, 0o644, NGINX_HTML_MTIME));
            file(&mut fs, "/etc/nginx/nginx.conf", NGINX_CONF, 0o644);
            file(&mut fs, "/etc/nginx/conf.d/default.conf", NGINX_DEFAULT_CONF, 0o644);
            file(&mut fs, "/etc/nginx/mime.types", "types {\n    text/html                                        html htm shtml;\n    text/css                                         css;\n    application/javascript                           js;\n}\n", 0o644);
            dir(&mut fs, "/var/cache/nginx", 0o755);
            // The image's own account, uid and gid 101, that its workers run as.
            let account = match base {
                Base::Alpine => ("nginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\n", "nginx:x:101:nginx\n"),
                _ => ("nginx:x:101:101:nginx user:/nonexistent:/bin/false\n", "nginx:x:101:\n"),
            };
            file(&mut fs, "/etc/passwd", &format!("{passwd}{}", account.0), 0o644);
            file(&mut fs, "/etc/group", &format!("{group}{}", account.1), 0o644);
            fs.insert("/var/log/nginx/access.log", Inode::symlink("/dev/stdout", t));
            fs.insert("/var/log/nginx/error.log", Inode::symlink("/dev/stderr", t));
        }
        "httpd" => {
            file(&mut fs, "/usr/local/apache2/htdocs/index.html", HTTPD_INDEX, 0o644);
            file(&mut fs, "/usr/local/apache2/conf/httpd.conf", "ServerRoot \"/usr/local/apache2\"\nListen 80\nDocumentRoot \"/usr/local/apache2/htdocs\"\n", 0o644);
            dir(&mut fs, "/usr/local/apache2/logs", 0o755);
            // The image's CMD.
            file(&mut fs, "/usr/local/bin/httpd-foreground", "#!/bin/sh\nset -e\n\n# Apache gets grumpy about PID files pre-existing\nrm -f /usr/local/apache2/logs/httpd.pid\n\nexec httpd -DFOREGROUND \"$@\"\n", 0o755);
        }
        "redis" => {
            dir(&mut fs, "/data", 0o755);
            file(&mut fs, "/usr/local/bin/docker-entrypoint.sh", "#!/bin/sh\nset -e\n", 0o775);
        }
        "mongo" => {
            dir(&mut fs, "/data/db", 0o755);
            dir(&mut fs, "/data/configdb", 0o755);
        }
        // Images whose software is one binary at the root (their manifests name it).
        "coredns" => file(&mut fs, "/coredns", "\u{7f}ELF", 0o755),
        "http-echo" => file(&mut fs, "/http-echo", "\u{7f}ELF", 0o755),
        "agnhost" => file(&mut fs, "/agnhost", "\u{7f}ELF", 0o755),
        "kube-webhook-certgen" => file(&mut fs, "/kube-webhook-certgen", "\u{7f}ELF", 0o755),
        "ingress-nginx" => {
            for binary in ["/nginx-ingress-controller", "/dbg", "/wait-shutdown"] {
                file(&mut fs, binary, "\u{7f}ELF", 0o755);
            }
            dir(&mut fs, "/etc/nginx", 0o755);
        }
        "kubia" => {
            file(&mut fs, "/app.js", "const http = require('http');\nconst os = require('os');\n\nconsole.log(\"Kubia server starting...\");\n\nvar handler = function(request, response) {\n  console.log(\"Received request from \" + request.connection.remoteAddress);\n  response.writeHead(200);\n  response.end(\"You've hit \" + os.hostname() + \"\\n\");\n};\n\nvar www = http.createServer(handler);\nwww.listen(8080);\n", 0o644);
        }
        _ => {}
    }
    fs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_carry_their_layout_and_programs() {
        let nginx = image_root(&images::parse_image("nginx:1.27").unwrap());
        assert!(nginx.get("/usr/share/nginx/html/index.html").is_some());
        assert_eq!(nginx.get("/bin").map(|n| n.kind.clone()), Some(super::super::filesystem::Kind::Symlink("usr/bin".into())));
        assert!(nginx.get("/usr/bin/bash").is_some());
        assert!(nginx.get("/usr/bin/ps").is_none(), "Debian's base has no procps");
        let bb = image_root(&images::parse_image("busybox:1.36").unwrap());
        assert!(bb.get("/bin/ps").is_some());
        assert!(bb.get("/bin/bash").is_none());
        let names: Vec<String> = bb.children("/").into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["bin", "dev", "etc", "home", "lib", "lib64", "proc", "root", "sys", "tmp", "usr", "var"]);
        // Shared, not rebuilt.
        assert!(Rc::ptr_eq(&bb, &image_root(&images::parse_image("busybox").unwrap())));
    }
}
