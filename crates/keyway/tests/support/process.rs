//! `keyway serve` as a child process on a port the OS picks (`--listen 127.0.0.1:0`): the address is read
//! from the server's own "keyway is listening" log line, so parallel tests can never race for a port or
//! talk to each other's servers.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use keyway_crypto::master_key::MasterKey;
use keyway_testkit::{backend, TestBackend, TestDatabase};
use secrecy::ExposeSecret;

/// A `keyway` command against the test database. On SQLite the default key file in the data dir is used
/// (what a new user gets); Postgres gets `KEYWAY_MASTER_KEY_FILE`, since it needs an explicit key.
pub fn keyway_command(db: &TestDatabase) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyway"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("KEYWAY_DATA_DIR", db.dir.path().join("data"))
        .env("KEYWAY_DATABASE_URL", &db.url)
        .env("KEYWAY_LOG", "info")
        .current_dir(db.dir.path());
    if backend() == TestBackend::Postgres {
        let file = db.dir.path().join("pg-master.key");
        if !file.exists() {
            std::fs::write(
                &file,
                format!("{}\n", MasterKey::generate().to_base64().expose_secret()),
            )
            .expect("key file");
        }
        cmd.env("KEYWAY_MASTER_KEY_FILE", file);
    }
    cmd
}

pub struct ServeProcess {
    child: Child,
    pub base: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    stderr_gate: Gate,
}

/// Closed, a reader stops reading its pipe (the pipe fills and the server's writes to it block).
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn set_closed(&self, closed: bool) {
        *self.0 .0.lock().expect("lock") = closed;
        self.0 .1.notify_all();
    }

    fn wait_open(&self) {
        let mut closed = self.0 .0.lock().expect("lock");
        while *closed {
            closed = self.0 .1.wait(closed).expect("lock");
        }
    }
}

fn collect(
    pipe: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<String>>,
    gate: Gate,
    on_line: impl Fn(&str) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut lines = BufReader::new(pipe).lines().map_while(Result::ok);
        loop {
            gate.wait_open();
            let Some(line) = lines.next() else { break };
            on_line(&line);
            let mut all = into.lock().expect("lock");
            all.push_str(&line);
            all.push('\n');
        }
    })
}

/// Starts `command` (a `keyway` command with its environment) as `serve` and waits until it listens.
pub fn serve_process(mut command: Command) -> ServeProcess {
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("KEYWAY_LOG_FORMAT", "json")
        .env("KEYWAY_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn keyway serve");
    let (stdout, stderr) = (
        Arc::new(Mutex::new(String::new())),
        Arc::new(Mutex::new(String::new())),
    );
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let tx = Mutex::new(tx);
    let stderr_gate = Gate::default();
    let readers = vec![
        collect(
            child.stdout.take().expect("stdout"),
            stdout.clone(),
            Gate::default(),
            |_| {},
        ),
        collect(
            child.stderr.take().expect("stderr"),
            stderr.clone(),
            stderr_gate.clone(),
            move |line| {
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(line) {
                    if event["message"] == "keyway is listening" {
                        if let Some(addr) = event["addr"].as_str() {
                            let _ = tx.lock().expect("lock").send(addr.to_owned());
                        }
                    }
                }
            },
        ),
    ];
    let addr = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(addr) => addr,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "keyway serve did not start:\n{}",
                stderr.lock().expect("lock")
            );
        }
    };
    // The first-start banner is written to stdout before the listening line: let the reader catch up.
    std::thread::sleep(Duration::from_millis(100));
    ServeProcess {
        child,
        base: format!("http://{addr}"),
        stdout,
        stderr,
        readers,
        stderr_gate,
    }
}

impl ServeProcess {
    /// What the server printed on standard output so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("lock").clone()
    }

    /// Stops reading the server's stderr, as a stuck log collector would: once the pipe is full, every
    /// write the server makes to it blocks.
    pub fn stall_stderr(&self) {
        self.stderr_gate.set_closed(true);
    }

    pub fn resume_stderr(&self) {
        self.stderr_gate.set_closed(false);
    }

    /// SIGTERM, then wait: a clean exit is status 0. Returns the status and everything logged.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        self.resume_stderr();
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let status = self.child.wait().expect("wait");
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let log = self.stderr.lock().expect("lock").clone();
        (status, log)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.resume_stderr();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a `keyway` command to completion.
pub fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().expect("run keyway")
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `keyway serve` against the test database, on a port the OS picks.
pub fn serve(db: &TestDatabase) -> ServeProcess {
    serve_process(keyway_command(db))
}

/// The status of `GET {base}{path}`, with a secret key when given.
pub fn get_status(base: &str, path: &str, key: Option<&str>) -> u16 {
    let client = reqwest::blocking::Client::new();
    let mut req = client.get(format!("{base}{path}"));
    if let Some(key) = key {
        req = req.header("x-pica-secret", key);
    }
    req.send().expect("request").status().as_u16()
}
