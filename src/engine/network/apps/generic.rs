//! Images outside the catalogue: the process accepts connections on the
//! ports its container declares. What it would answer is unknown, so an
//! HTTP request gets an empty `200 OK` and anything else no reply.

use super::{http_of, http_reply, Incoming, Reply, ServeCx};
use crate::engine::network::http::{http_date, HttpResponse};

pub fn serve(req: &Incoming, cx: &mut ServeCx) -> Reply {
    cx.cpu_us += 100;
    match http_of(&req.payload) {
        Some(_) => {
            let headers = vec![("Date".to_string(), http_date(cx.now)), ("Content-Length".to_string(), "0".to_string())];
            http_reply(&req.payload, HttpResponse::new(200, headers, ""))
        }
        None => Reply::Silent,
    }
}
