//! Tests of `stackbill serve` over real HTTP: each test starts the binary on a free port
//! against a fresh database (an SQLite file in a temporary folder, or a new MariaDB
//! database on 127.0.0.1:3306 that is dropped afterwards) and talks to it with reqwest.

mod authz;
pub(crate) mod collection;
mod commissions;
pub(crate) mod documents;
mod exports;
mod federated_portal;
mod forwarding;
mod identity;
mod jobs;
mod mail;
mod offboarding;
mod portal;
mod quick_start;
mod quotas;
mod replicas;
mod security;
mod subscription_usage;
mod tls;
mod tokens;
mod workflows;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

pub(crate) const ADMIN: &str = "admin@stackbill.test";
pub(crate) const ADMIN_PASSWORD: &str = "Adm1n-password-for-tests";

/// Which store a server runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Db {
    Sqlite,
    Mariadb,
}

/// Drops a MariaDB test database when the test ends.
struct MariaDb(String);

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = Command::new("mariadb")
            .args([
                "-uroot",
                "-h127.0.0.1",
                "-e",
                &format!("DROP DATABASE IF EXISTS `{}`", self.0),
            ])
            .output();
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// A running server.
pub(crate) struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its working folder (key file, SQLite database).
    pub dir: PathBuf,
    /// Everything it printed on stdout.
    pub output: Arc<Mutex<Vec<String>>>,
    _db: Option<MariaDb>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Server {
    /// Kills the process with SIGKILL, as a crash would, keeping its folder and database.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The database URL it runs on.
    pub(crate) fn database_url(&self) -> String {
        match self.mariadb_name() {
            Some(name) => format!("mysql://root@127.0.0.1:3306/{name}"),
            None => format!("sqlite://{}/db.sqlite", self.dir.display()),
        }
    }

    /// The MariaDB database the server runs on, if it does.
    pub(crate) fn mariadb_name(&self) -> Option<&str> {
        self._db.as_ref().map(|d| d.0.as_str())
    }

    /// A server whose first administrator comes from the environment.
    pub(crate) fn start(db: Db) -> Self {
        Self::start_with(db, true, &[])
    }

    /// A server with extra arguments; `admin_env` sets STACKBILL_ADMIN_EMAIL/PASSWORD.
    pub(crate) fn start_with(db: Db, admin_env: bool, args: &[&str]) -> Self {
        Self::start_env(db, admin_env, args, &[])
    }

    /// A server with extra arguments and environment variables.
    pub(crate) fn start_env(db: Db, admin_env: bool, args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(unique("stackbill-api-"));
        std::fs::create_dir_all(&dir).unwrap();
        let (url, guard) = match db {
            Db::Sqlite => (format!("sqlite://{}/db.sqlite", dir.display()), None),
            Db::Mariadb => {
                let name = unique("stackbill_api_");
                let out = Command::new("mariadb")
                    .args([
                        "-uroot",
                        "-h127.0.0.1",
                        "-e",
                        &format!("CREATE DATABASE `{name}`"),
                    ])
                    .output()
                    .expect("the mariadb client is installed");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                (
                    format!("mysql://root@127.0.0.1:3306/{name}"),
                    Some(MariaDb(name)),
                )
            }
        };
        Self::launch(dir, url, guard, admin_env, args, env)
    }

    /// A server on an existing folder (key file) and database, e.g. a restored one.
    pub(crate) fn start_in(dir: &std::path::Path, url: &str) -> Self {
        Self::start_in_with(dir, url, &[])
    }

    /// [`Server::start_in`] with extra arguments.
    pub(crate) fn start_in_with(dir: &std::path::Path, url: &str, args: &[&str]) -> Self {
        Self::launch(dir.to_owned(), url.to_owned(), None, true, args, &[])
    }

    fn launch(
        dir: PathBuf,
        url: String,
        guard: Option<MariaDb>,
        admin_env: bool,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackbill"));
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--database", &url])
            .arg("--key-file")
            .arg(dir.join("stackbill.key"))
            .args(args)
            .env_remove("STACKBILL_ADMIN_EMAIL")
            .env_remove("STACKBILL_ADMIN_PASSWORD")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        cmd.envs(env.iter().copied());
        if admin_env {
            cmd.env("STACKBILL_ADMIN_EMAIL", ADMIN)
                .env("STACKBILL_ADMIN_PASSWORD", ADMIN_PASSWORD);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let base = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(base);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the server starts and prints its address");
        Server {
            child,
            base,
            dir,
            output,
            _db: guard,
        }
    }

    /// A client without credentials.
    pub(crate) fn anonymous(&self) -> Api {
        Api {
            base: self.base.clone(),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            token: None,
            async_jobs: false,
        }
    }

    /// A client signed in as `email`.
    pub(crate) fn login(&self, email: &str, password: &str) -> Api {
        let mut api = self.anonymous();
        let (status, body) = api.post(
            "/api/v1/auth/token",
            json!({"EmailAddress": email, "Password": password}),
        );
        assert_eq!(status, 200, "sign-in of {email}: {body}");
        api.token = Some(body["token"].as_str().unwrap().to_owned());
        api
    }

    /// A client signed in as the platform administrator.
    pub(crate) fn admin(&self) -> Api {
        self.login(ADMIN, ADMIN_PASSWORD)
    }
}

/// The endpoints that queue a job (`202 Accepted`, or the outcome under `Prefer: wait`).
const JOB_PATHS: [&str; 9] = [
    "/billing/generate",
    "/invoices/archive",
    "/invoices/delinquent-notices",
    "/commissions/generate",
    "/commissions/summary",
    "/collect",
    "/process",
    "/quota-check",
    "/identity-check",
];

/// Distributor `D1` and its partner `P1`: the branch a test's tenants go under.
pub(crate) fn branch(admin: &Api) {
    admin.ok(
        "POST",
        "/api/v1/distributors",
        Some(json!({"id": "D1", "name": "Distribution", "currency": "AUD"})),
    );
    admin.ok(
        "POST",
        "/api/v1/partners",
        Some(json!({"id": "P1", "distributorId": "D1", "name": "Partner"})),
    );
}

/// An HTTP client of the API.
#[derive(Clone)]
pub(crate) struct Api {
    pub base: String,
    pub http: reqwest::blocking::Client,
    pub token: Option<String>,
    /// Whether requests that queue a job take the `202` instead of waiting.
    pub async_jobs: bool,
}

impl Api {
    /// Sends a request; returns the status and the JSON body (`Null` when not JSON).
    pub(crate) fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        // Requests that queue a job wait for it here, so a test reads the job's outcome
        // as the answer; tests of the queue itself send their own `Prefer`.
        let path_only = path.split('?').next().unwrap_or(path);
        if method == reqwest::Method::POST
            && JOB_PATHS.iter().any(|p| path_only.ends_with(p))
            && !self.async_jobs
        {
            req = req.header("Prefer", "wait=120");
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let response = req.send().unwrap();
        let status = response.status().as_u16();
        let text = response.text().unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, value)
    }

    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, None)
    }

    pub(crate) fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, Some(body))
    }

    pub(crate) fn delete(&self, path: &str) -> (u16, Value) {
        self.send("DELETE", path, None)
    }

    /// Sends and asserts a 2xx; returns `data`.
    pub(crate) fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.send(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path} answered {status}: {value}"
        );
        assert_eq!(value["code"], json!(status), "{value}");
        assert_eq!(value["errors"], json!([]), "{value}");
        value["data"].clone()
    }

    /// POSTs `body`; returns the status, the `Location` header and the JSON body.
    pub(crate) fn send_full(&self, path: &str, body: Value) -> (u16, Option<String>, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if !self.async_jobs {
            req = req.header("Prefer", "wait=120");
        }
        let response = req.send().unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, location, response.json().unwrap_or(Value::Null))
    }

    /// A copy whose requests that queue a job answer `202` at once.
    pub(crate) fn no_wait(&self) -> Api {
        Api {
            async_jobs: true,
            ..self.clone()
        }
    }

    /// A copy using another bearer token.
    pub(crate) fn with_token(&self, token: &str) -> Api {
        Api {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }
}

/// Waits for a spawned `stackbill serve` (stdout piped) to print the address it
/// listens on; returns the process and its base URL.
pub(crate) fn listening(mut child: Child) -> (Child, String) {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on ").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(300))
        .expect("the server starts and prints its address");
    (child, base)
}

/// The ids of a list response's items.
pub(crate) fn ids(data: &Value) -> Vec<String> {
    let mut ids: Vec<String> = data
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|v| v["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

/// GETs `path` with `accept`; returns the status, the response headers and the body.
pub(crate) fn fetch(
    api: &Api,
    path: &str,
    accept: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = api.http.get(format!("{}{path}", api.base));
    if let Some(token) = &api.token {
        req = req.bearer_auth(token);
    }
    if let Some(accept) = accept {
        req = req.header("Accept", accept);
    }
    let response = req.send().unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().unwrap().to_vec())
}

/// A tenant as its PUT body takes it: the editable fields it has.
pub(crate) fn editable_tenant(admin: &Api, id: &str) -> Value {
    let mut tenant = admin.ok("GET", &format!("/api/v1/tenants/{id}"), None);
    let editable = [
        "partnerId",
        "name",
        "currency",
        "timeZone",
        "taxPercent",
        "paymentTermsDays",
        "billingContact",
        "entraTenantId",
        "initialOwner",
        "details",
    ];
    tenant
        .as_object_mut()
        .unwrap()
        .retain(|k, v| editable.contains(&k.as_str()) && !v.is_null());
    tenant
}

/// Bills the demo month; returns its invoices.
pub(crate) fn bill_demo_month(admin: &Api) -> Vec<Value> {
    admin.ok(
        "POST",
        "/api/v1/billing/generate",
        Some(json!({"period": "2026-10"})),
    );
    let list = admin.ok(
        "GET",
        "/api/v1/billing/invoices?period=2026-10&pageSize=1000",
        None,
    );
    list.as_array().unwrap().clone()
}
