//! Keys expire: lazily when read after their time, and by the periodic sweep
//! when nobody reads them again (seen through DBSIZE, which counts keys not yet
//! removed).

mod support;

use std::time::Duration;

use example_resp::{RespConfig, StoreKind};
use support::{bounded, query, Server};

async fn expiry(kind: StoreKind) {
    let server = Server::start_with(RespConfig::default(), kind);
    let mut c = server.client().await;
    let _: () = query(&mut c, &["SET", "lazy", "v", "PX", "50"])
        .await
        .unwrap();
    let _: () = query(&mut c, &["SET", "swept", "v", "PX", "50"])
        .await
        .unwrap();
    let _: () = query(&mut c, &["SET", "kept", "v"]).await.unwrap();
    let _: i64 = query(&mut c, &["PEXPIRE", "kept", "60000"]).await.unwrap();

    // Read until the key is gone (PX 50 plus scheduling): a bounded poll.
    bounded("lazy expiry", async {
        loop {
            let value: Option<String> = query(&mut c, &["GET", "lazy"]).await.unwrap();
            if value.is_none() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(query::<i64>(&mut c, &["TTL", "lazy"]).await.unwrap(), -2);

    // Nobody reads "swept": the sweep removes it, within a few of its intervals.
    bounded("the sweep", async {
        loop {
            let size: i64 = query(&mut c, &["DBSIZE"]).await.unwrap();
            if size == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(
        query::<String>(&mut c, &["GET", "kept"]).await.unwrap(),
        "v"
    );
    server.stop().await;
}

#[tokio::test]
async fn keys_expire_on_the_klock_store() {
    expiry(StoreKind::Klock).await;
}

#[tokio::test]
async fn keys_expire_on_the_sharded_store() {
    expiry(StoreKind::Sharded).await;
}
