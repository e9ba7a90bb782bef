//! Who may do what with a lesson's video: the rule the course context applies to lesson bodies,
//! decided from this context's own projections of course and enrollment (never a call to them).
//!
//! - The course's instructor and admins manage its videos (upload, cancel, captions) and see
//!   them in every status.
//! - A published lesson's video may be watched by anyone when the course is free or the lesson
//!   is a free preview; otherwise by learners with an active enrolment that grants the material
//!   (any mode on a free course; FREE or PAID on a paid one: an AUDIT reaches only previews).
//! - A lesson no publication has shown yet (a draft) is its instructor's and admins' alone.

use deadpool_postgres::GenericClient;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::{Role, Viewer};
use crate::store::{self, StoreError};

/// What the viewer may do with one lesson's video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The course the lesson was published in; `None` for a draft lesson.
    pub course_id: Option<Uuid>,
    /// The viewer is the course's instructor or an admin.
    pub manages: bool,
    /// The viewer may get a playback URL.
    pub may_watch: bool,
}

/// True when `viewer` is an admin or the course's instructor.
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn manages_course(
    db: &impl GenericClient,
    course_id: Uuid,
    viewer: &Viewer,
) -> Result<bool, StoreError> {
    if viewer.role == Role::Admin {
        return Ok(true);
    }
    let Ok(user) = Uuid::parse_str(&viewer.user_id) else {
        return Ok(false);
    };
    Ok(store::course_instructor(db, course_id).await? == Some(user))
}

/// The viewer's access to the videos of many lessons, each given with the course a video of it
/// was uploaded under (for a draft lesson, the only way to know whose it is); in their order,
/// three queries whatever their number (a course page lists many lessons).
///
/// # Errors
/// [`StoreError::Sql`].
pub async fn lessons(
    db: &impl GenericClient,
    keys: &[(Uuid, Option<Uuid>)],
    viewer: Option<&Viewer>,
) -> Result<Vec<Access>, StoreError> {
    let facts = store::lessons_access(db, keys).await?;
    let admin = viewer.is_some_and(|v| v.role == Role::Admin);
    let user = viewer.and_then(|v| Uuid::parse_str(&v.user_id).ok());
    let entitled = match user {
        Some(user) => {
            let courses: Vec<Uuid> = facts.iter().filter_map(|f| f.course_id).collect();
            store::entitled_courses(db, user, &courses).await?
        }
        None => Vec::new(),
    };
    Ok(facts
        .into_iter()
        .map(|facts| {
            let manages = admin || (user.is_some() && user == facts.instructor_id);
            let may_watch = manages
                || facts.course_id.is_some_and(|course| {
                    facts.free_course || facts.free_preview || entitled.contains(&course)
                });
            Access {
                course_id: facts.course_id,
                manages,
                may_watch,
            }
        })
        .collect())
}

/// RFC 3339 UTC, as every time in the graph is written.
pub fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_default()
}
