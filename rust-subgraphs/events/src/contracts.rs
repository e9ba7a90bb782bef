//! The event payloads: Rust types generated at build time from the Protocol Buffers contracts
//! in `schema/events/coursegraph/<context>/v1/*.proto` (see `build.rs`; no `protoc` needed).
//!
//! One module per proto package: `coursegraph.course.v1` is [`course::v1`], and so on. Each
//! message type implements [`prost::Message`] (encode/decode) and [`prost::Name`] (its proto
//! name and package); the ones that are events also implement [`crate::Event`], which ties
//! them to their subject. Read payloads with [`crate::decode_event`].
//!
//! The generated code is not checked in; it is in `OUT_DIR`. Fields without a comment in the
//! `.proto` file have no doc comment, hence `missing_docs` is allowed here.

#![allow(missing_docs)]

/// Events of the course context (stream `COURSE`).
pub mod course {
    /// Package `coursegraph.course.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/coursegraph.course.v1.rs"));
    }
}

/// Events of the payment context (stream `PAYMENT`).
pub mod payment {
    /// Package `coursegraph.payment.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/coursegraph.payment.v1.rs"));
    }
}

/// Events of the enrollment context (stream `ENROLLMENT`).
pub mod enrollment {
    /// Package `coursegraph.enrollment.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/coursegraph.enrollment.v1.rs"));
    }
}

/// Events of the identity context (stream `IDENTITY`).
pub mod identity {
    /// Package `coursegraph.identity.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/coursegraph.identity.v1.rs"));
    }
}

/// Events of the notification context (stream `NOTIFICATION`).
pub mod notification {
    /// Package `coursegraph.notification.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/coursegraph.notification.v1.rs"));
    }
}

/// Events of the learning context (stream `LEARNING`).
pub mod learning {
    /// Package `coursegraph.learning.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/coursegraph.learning.v1.rs"));
    }
}

/// Events of the video context (stream `VIDEO`).
pub mod video {
    /// Package `coursegraph.video.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/coursegraph.video.v1.rs"));
    }
}

/// Events of the ai context (stream `AI`).
pub mod ai {
    /// Package `coursegraph.ai.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/coursegraph.ai.v1.rs"));
    }
}

/// Events of the gateway (stream `GATEWAY`): its usage reports.
pub mod gateway {
    /// Package `coursegraph.gateway.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/coursegraph.gateway.v1.rs"));
    }
}

/// Events of the flags context (stream `FLAGS`): flag changes and the services' exposure counts.
pub mod flags {
    /// Package `coursegraph.flags.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/coursegraph.flags.v1.rs"));
    }
}
