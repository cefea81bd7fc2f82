//! Several server processes on one database: started at once on a new database, one
//! creates the first administrator and the demo dataset and the others find them; a
//! change made through one process is seen through another at once.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use super::{ADMIN, ADMIN_PASSWORD, Api, Db};

struct Replica(Child, String);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(url: &str, dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_stackbill"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database",
            url,
            "--demo",
        ])
        .arg("--key-file")
        .arg(dir.join("stackbill.key"))
        .env("STACKBILL_ADMIN_EMAIL", ADMIN)
        .env("STACKBILL_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn listening(child: Child) -> Replica {
    let (child, base) = super::listening(child);
    Replica(child, base)
}

fn signed_in(like: &Api, base: &str) -> Api {
    let anonymous = Api {
        base: base.to_owned(),
        token: None,
        ..like.clone()
    };
    let (status, body) = anonymous.post(
        "/api/v1/auth/token",
        json!({"EmailAddress": ADMIN, "Password": ADMIN_PASSWORD}),
    );
    assert_eq!(status, 200, "{body}");
    Api {
        token: Some(body["token"].as_str().unwrap().to_owned()),
        ..anonymous
    }
}

/// A new database (and folder) that is dropped at the end.
struct Fresh(std::path::PathBuf, Option<String>);

impl Drop for Fresh {
    fn drop(&mut self) {
        if let Some(name) = &self.1 {
            let _ = Command::new("mariadb")
                .args([
                    "-uroot",
                    "-h127.0.0.1",
                    "-e",
                    &format!("DROP DATABASE IF EXISTS `{name}`"),
                ])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn started_together(db: Db) {
    let tag = format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let dir = std::env::temp_dir().join(format!("stackbill-together-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let (url, name) = match db {
        Db::Sqlite => (format!("sqlite://{}/db.sqlite", dir.display()), None),
        Db::Mariadb => {
            let name = format!("stackbill_together_{tag}");
            let out = Command::new("mariadb")
                .args([
                    "-uroot",
                    "-h127.0.0.1",
                    "-e",
                    &format!("CREATE DATABASE `{name}`"),
                ])
                .output()
                .unwrap();
            assert!(out.status.success());
            (format!("mysql://root@127.0.0.1:3306/{name}"), Some(name))
        }
    };
    let _fresh = Fresh(dir.clone(), name);
    let template = Api {
        base: String::new(),
        http: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap(),
        token: None,
        async_jobs: false,
    };
    let children: Vec<Child> = (0..3).map(|_| spawn(&url, &dir)).collect();
    let replicas: Vec<Replica> = children.into_iter().map(listening).collect();
    let apis: Vec<Api> = replicas
        .iter()
        .map(|r| signed_in(&template, &r.1))
        .collect();
    let users = apis[0].ok("GET", "/api/v1/users?pageSize=1000", None);
    let admins = users
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["emailAddress"] == ADMIN || u["email"] == ADMIN)
        .count();
    assert_eq!(admins, 1, "{users}");
    let distributors = apis[0].ok("GET", "/api/v1/distributors?pageSize=1000", None);
    assert_eq!(distributors.as_array().unwrap().len(), 2, "{distributors}");

    // A change through one process is seen through the others at once.
    apis[0].ok(
        "PUT",
        "/api/v1/settings/platforms",
        Some(json!({"reportPlatformAlerts": true})),
    );
    for api in &apis[1..] {
        let seen = api.ok("GET", "/api/v1/settings/platforms", None);
        assert_eq!(seen["reportPlatformAlerts"], true, "{seen}");
    }
    apis[1].ok(
        "POST",
        "/api/v1/distributors",
        Some(json!({"id": "dist-new", "name": "New", "currency": "AUD"})),
    );
    let (status, body) = apis[2].get("/api/v1/distributors/dist-new");
    assert_eq!(status, 200, "{body}");
    drop(replicas);
}

#[test]
fn processes_started_together_bootstrap_once_and_see_each_others_changes_on_sqlite() {
    started_together(Db::Sqlite);
}

#[test]
fn processes_started_together_bootstrap_once_and_see_each_others_changes_on_mariadb() {
    started_together(Db::Mariadb);
}
