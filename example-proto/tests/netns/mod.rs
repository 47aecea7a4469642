//! Network namespaces made by the test itself: each with a veth pair to the test's
//! own namespace, an address on each end, and nftables rules to cut it off. Every
//! address is on a link the test made; nothing leaves the machine.
//!
//! Needs root, `ip` (iproute2) and `nft` (nftables). [`Namespace::create`] says
//! why when it cannot, and the test prints that and skips.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// One namespace at a time: the cases measure times to notice, and two at once
/// on a 2-core machine would measure each other.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

static NEXT: AtomicU32 = AtomicU32::new(1);

/// A namespace linked to ours by a veth pair: `198.18.N.1` on our end,
/// `198.18.N.2` on its end (198.18.0.0/15 is set aside for benchmarking networks).
pub struct Namespace {
    pub name: String,
    link: String,
    pub ours: IpAddr,
    pub theirs: IpAddr,
}

fn run(args: &[&str]) -> Result<(), String> {
    let output = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {}: {error}", args[0]))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

impl Namespace {
    /// A fresh namespace, or why there cannot be one here.
    pub fn create() -> Result<Self, String> {
        run(&["nft", "--version"]).map_err(|e| format!("nftables missing ({e})"))?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = std::process::id() % 100_000;
        let name = format!("ps{id}n{n}");
        let link = format!("pv{id}n{n}");
        let peer = format!("pv{id}n{n}p");
        let ours = Ipv4Addr::new(198, 18, n as u8, 1);
        let theirs = Ipv4Addr::new(198, 18, n as u8, 2);
        run(&["ip", "netns", "add", &name])?;
        let namespace = Self {
            name,
            link,
            ours: IpAddr::V4(ours),
            theirs: IpAddr::V4(theirs),
        };
        let ns = namespace.name.as_str();
        run(&[
            "ip",
            "link",
            "add",
            &namespace.link,
            "type",
            "veth",
            "peer",
            "name",
            &peer,
        ])?;
        run(&["ip", "link", "set", &peer, "netns", ns])?;
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{ours}/30"),
            "dev",
            &namespace.link,
        ])?;
        run(&["ip", "link", "set", &namespace.link, "up"])?;
        namespace.exec(&["ip", "addr", "add", &format!("{theirs}/30"), "dev", &peer])?;
        namespace.exec(&["ip", "link", "set", &peer, "up"])?;
        namespace.exec(&["ip", "link", "set", "lo", "up"])?;
        Ok(namespace)
    }

    /// Runs a command inside the namespace to its end.
    pub fn exec(&self, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["ip", "netns", "exec", self.name.as_str()];
        all.extend_from_slice(args);
        run(&all)
    }

    /// Starts a process inside the namespace (`ip netns exec` execs it, so the
    /// child's pid is the process's).
    pub fn spawn(&self, program: &str, args: &[&str], env: &[(&str, String)]) -> Child {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.name, program])
            .args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a process in the namespace")
    }

    /// Drops every packet in and out of the namespace: a partition, or 100% loss.
    pub fn cut_off(&self) {
        self.exec(&["nft", "add table inet cut"])
            .expect("nft table");
        for (chain, hook) in [("in", "input"), ("out", "output")] {
            let rule = format!(
                "add chain inet cut {chain} {{ type filter hook {hook} priority 0; policy drop; }}"
            );
            self.exec(&["nft", &rule]).expect("nft chain");
        }
    }

    /// Lets traffic through again.
    pub fn heal(&self) {
        self.exec(&["nft", "delete table inet cut"])
            .expect("nft delete");
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // Deleting the namespace deletes its end of the veth, and with it ours.
        let _ = run(&["ip", "netns", "del", &self.name]);
        let _ = run(&["ip", "link", "del", &self.link]);
    }
}

/// Sends a signal to a process.
pub fn signal(child: &Child, signal: &str) {
    run(&["kill", &format!("-{signal}"), &child.id().to_string()]).expect("kill");
}

/// Namespaces, or the reason printed and the test skipped.
#[macro_export]
macro_rules! namespace_or_skip {
    () => {
        match netns::Namespace::create() {
            Ok(namespace) => namespace,
            Err(reason) => {
                eprintln!("SKIPPED: cannot make a network namespace here: {reason}");
                return;
            }
        }
    };
}
