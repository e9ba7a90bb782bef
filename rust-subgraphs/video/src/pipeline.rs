//! The transcoding job: what a worker does with one video taken from the `VIDEO_JOBS` queue —
//! probe, plan the ladder (per title when asked), transcode to HLS with poster and storyboard,
//! then record the result and announce it (`video.video.ready` / `video.video.failed`) in one
//! transaction.
//!
//! The queue ([`crate::jobs`]) redelivers a job whose worker died; the database lease here
//! decides who holds it: a delivery finds the video QUEUED (or PROCESSING with its lease run out)
//! and takes it, any other delivery (a duplicate while the holder lives, a job already done) is
//! acknowledged and skipped. The worker renews the lease while it runs and stops when an
//! instructor cancels. The transcode writes beside its destination and renames into place, so a
//! killed worker leaves no half-made ladder for players to find.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use coursegraph_events::contracts::video::v1 as events;
use deadpool_postgres::Pool;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::jobs::{HandlerError, Job, JobHandler};
use crate::ladder::{self, ComplexityOptions, LadderOptions};
use crate::outbox::{self, RelayWaker};
use crate::probe::{self, ProbeOptions, VideoProbe};
use crate::storage::{LocalStorage, Storage, UploadId};
use crate::store::{self, ProbeFigures, RenditionRow, StoreError, VideoRow};
use crate::transcode::{self, CancelToken, TranscodeError, TranscodeOptions, TranscodeRequest};

/// What every job needs.
#[derive(Clone)]
pub struct Pipeline {
    /// The context's database.
    pub db: Pool,
    /// Where uploads are and media goes.
    pub storage: Arc<LocalStorage>,
    /// How long a job's lease lasts without renewal; renewed every third of it. Shorter than
    /// the queue's ack wait (half of it in the binary), so the redelivery of a dead worker's job
    /// finds the lease run out.
    pub lease: Duration,
    /// Wakes the outbox relay after a commit with events.
    pub relay: RelayWaker,
    /// FFmpeg settings.
    pub transcode: TranscodeOptions,
}

impl Pipeline {
    /// Where a video's media folder is (`<storage>/media/<video id>`), as playback serves it.
    pub fn media_dir(&self, video_id: Uuid) -> PathBuf {
        media_dir(self.storage.root(), video_id)
    }
}

/// `<root>/media/<video id>`.
pub fn media_dir(storage_root: &Path, video_id: Uuid) -> PathBuf {
    storage_root.join("media").join(video_id.to_string())
}

impl JobHandler for Pipeline {
    async fn handle(&self, job: Job) -> Result<(), HandlerError> {
        let video_id = job.video_id;
        let taken = store::take_job(&self.client().await?, video_id, self.lease.as_secs_f64())
            .await
            .map_err(retry)?;
        let Some(video) = taken else {
            let now = store::video(&self.client().await?, video_id)
                .await
                .map_err(retry)?;
            if now.is_some_and(|v| v.status == "PROCESSING") {
                // Another worker holds a live lease: this may be the redelivery of a job whose
                // worker died just before its lease ran out. Back off and look again; acking
                // here could lose the job.
                return Err(HandlerError::retryable(
                    "the video is held by another worker's lease",
                ));
            }
            tracing::info!(%video_id, "job skipped: the video is not waiting (ready, failed, cancelled or gone)");
            return Ok(());
        };
        tracing::info!(%video_id, attempt = job.attempt, "transcoding");
        let progress = Arc::new(AtomicU64::new(0f64.to_bits()));
        let renewer = tokio::spawn(renew(
            self.db.clone(),
            video_id,
            Arc::clone(&progress),
            self.lease,
            job.cancel.clone(),
        ));
        let outcome = self.run(&video, &progress, &job.cancel).await;
        renewer.abort();
        match outcome {
            Ok(()) => Ok(()),
            Err(Failure::Cancelled) => {
                tracing::info!(%video_id, "transcode cancelled");
                // A worker stopping (not an instructor) puts the job back for another worker.
                store::requeue_job(&self.client().await?, video_id)
                    .await
                    .map_err(retry)?;
                Ok(())
            }
            Err(Failure::Retryable(message)) if job.attempt < job.max_attempts => {
                tracing::warn!(%video_id, attempt = job.attempt, error = message, "transcode failed; will retry");
                store::requeue_job(&self.client().await?, video_id)
                    .await
                    .map_err(retry)?;
                Err(HandlerError {
                    retryable: true,
                    message,
                })
            }
            Err(Failure::Retryable(message)) => {
                tracing::error!(%video_id, attempt = job.attempt, error = message, "transcode failed; no attempts left");
                self.fail(
                    &video,
                    "Processing failed several times; upload the video again or contact support.",
                    false,
                )
                .await?;
                Ok(())
            }
            Err(Failure::BadFile(reason)) => {
                tracing::info!(%video_id, reason, "the uploaded file cannot be made playable");
                self.fail(&video, &reason, true).await?;
                Ok(())
            }
        }
    }
}

/// Why a run ended without a ready video.
#[derive(Debug)]
enum Failure {
    /// The file itself is at fault; the reason is for its instructor.
    BadFile(String),
    /// The machine's trouble: another attempt may succeed.
    Retryable(String),
    /// Cancelled (by its instructor, or the worker stopping).
    Cancelled,
}

fn retry(error: StoreError) -> HandlerError {
    HandlerError {
        retryable: true,
        message: error.to_string(),
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self::Retryable(error.to_string())
    }
}

impl Pipeline {
    async fn client(&self) -> Result<deadpool_postgres::Object, HandlerError> {
        self.db.get().await.map_err(|e| retry(e.into()))
    }

    async fn run(
        &self,
        video: &VideoRow,
        progress: &Arc<AtomicU64>,
        cancel: &CancelToken,
    ) -> Result<(), Failure> {
        let upload = UploadId::parse(&video.upload_id)
            .map_err(|e| Failure::BadFile(format!("the upload cannot be found ({e})")))?;
        let source = self
            .storage
            .finish_upload(&upload)
            .await
            .map_err(|e| Failure::Retryable(format!("the upload cannot be read: {e}")))?;
        let probed = probe::probe(&source, &ProbeOptions::default())
            .await
            .map_err(|e| {
                if e.is_bad_file() {
                    Failure::BadFile(e.to_string())
                } else {
                    Failure::Retryable(e.to_string())
                }
            })?;
        {
            let db = self.db.get().await.map_err(StoreError::from)?;
            store::set_probe(&db, video.id, &figures(&probed)).await?;
        }
        let mut options = LadderOptions::default();
        let mut saved_pct = None;
        if video.per_title {
            match ladder::measure_complexity(&source, &probed, &ComplexityOptions::default()).await
            {
                Ok(complexity) => {
                    saved_pct = Some(complexity.saved_fraction() * 100.0);
                    options.per_title = Some(complexity);
                }
                // Per-title is an optimisation: the standard ladder is still right.
                Err(error) => {
                    tracing::warn!(video_id = %video.id, error = %error, "per-title measure failed; using the standard ladder");
                }
            }
        }
        let renditions = ladder::plan_ladder(&probed, &options);
        let destination = self.media_dir(video.id);
        let request = TranscodeRequest {
            source: &source,
            probe: &probed,
            renditions: &renditions,
            destination: &destination,
        };
        let report = |fraction: f64| progress.store(fraction.to_bits(), Ordering::Relaxed);
        let output = transcode::transcode(&request, &self.transcode, report, cancel)
            .await
            .map_err(|e| match e {
                TranscodeError::Cancelled => Failure::Cancelled,
                e if e.is_retryable() => Failure::Retryable(e.to_string()),
                e => Failure::BadFile(e.to_string()),
            })?;
        let rows: Vec<RenditionRow> = output
            .renditions
            .iter()
            .map(|r| RenditionRow {
                video_id: video.id,
                name: r.name.clone(),
                width: i32::try_from(r.width).unwrap_or(i32::MAX),
                height: i32::try_from(r.height).unwrap_or(i32::MAX),
                bitrate: i64::try_from(r.bitrate).unwrap_or(i64::MAX),
                codecs: r.codecs.clone().unwrap_or_default(),
                frame_rate: renditions
                    .iter()
                    .find(|planned| planned.name == r.name)
                    .map_or(probed.frame_rate, |planned| planned.frame_rate),
            })
            .collect();
        let mut client = self.db.get().await.map_err(StoreError::from)?;
        let tx = client.transaction().await.map_err(StoreError::from)?;
        let ready = store::mark_ready(&tx, video.id, &rows, saved_pct, output.x_realtime()).await?;
        if !ready {
            drop(tx);
            // Cancelled while the last rendition was being written: nobody may play it.
            let _ = tokio::fs::remove_dir_all(&destination).await;
            return Err(Failure::Cancelled);
        }
        outbox::write(
            &tx,
            &events::VideoReady {
                video_id: video.id.to_string(),
                lesson_id: video.lesson_id.to_string(),
                course_id: video.course_id.to_string(),
                probe: Some(probe_event(&probed)),
                renditions: rows.iter().map(|r| r.name.clone()).collect(),
                ready_at: now_rfc3339(),
            },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        self.relay.wake();
        tracing::info!(video_id = %video.id, renditions = rows.len(), x_realtime = output.x_realtime(), "video ready");
        Ok(())
    }

    /// Marks the video failed and announces it, in one transaction.
    async fn fail(
        &self,
        video: &VideoRow,
        reason: &str,
        bad_file: bool,
    ) -> Result<(), HandlerError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| retry(e.into()))?;
        if store::mark_failed(&tx, video.id, reason)
            .await
            .map_err(retry)?
        {
            outbox::write(
                &tx,
                &events::VideoFailed {
                    video_id: video.id.to_string(),
                    lesson_id: video.lesson_id.to_string(),
                    course_id: video.course_id.to_string(),
                    reason: reason.to_owned(),
                    bad_file,
                    failed_at: now_rfc3339(),
                },
            )
            .await
            .map_err(retry)?;
        }
        tx.commit().await.map_err(|e| retry(e.into()))?;
        self.relay.wake();
        Ok(())
    }
}

/// Renews the job's lease with its progress every third of the lease; cancels the transcode
/// when the video was cancelled meanwhile.
async fn renew(
    db: Pool,
    video_id: Uuid,
    progress: Arc<AtomicU64>,
    lease: Duration,
    cancel: CancelToken,
) {
    let every = lease / 3;
    loop {
        tokio::time::sleep(every).await;
        let fraction = f64::from_bits(progress.load(Ordering::Relaxed));
        let status = match db.get().await {
            Ok(client) => store::renew_job(&client, video_id, fraction, lease.as_secs_f64()).await,
            Err(error) => Err(error.into()),
        };
        match status {
            Ok(Some(status)) if status == "CANCELLED" => {
                cancel.cancel();
                return;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%video_id, error = %error, "cannot renew the job's lease"),
        }
    }
}

fn figures(probe: &VideoProbe) -> ProbeFigures {
    ProbeFigures {
        duration_seconds: probe.duration_seconds,
        width: i32::try_from(probe.display_width).unwrap_or(i32::MAX),
        height: i32::try_from(probe.display_height).unwrap_or(i32::MAX),
        video_codec: probe.video_codec.clone(),
        audio_codec: probe.audio_codec.clone(),
        bitrate: i64::try_from(probe.bitrate).unwrap_or(i64::MAX),
        frame_rate: probe.frame_rate,
    }
}

fn probe_event(probe: &VideoProbe) -> events::VideoProbe {
    events::VideoProbe {
        duration_seconds: probe.duration_seconds,
        width: i32::try_from(probe.display_width).unwrap_or(i32::MAX),
        height: i32::try_from(probe.display_height).unwrap_or(i32::MAX),
        video_codec: probe.video_codec.clone(),
        audio_codec: probe.audio_codec.clone().unwrap_or_default(),
        bitrate: i64::try_from(probe.bitrate).unwrap_or(i64::MAX),
        frame_rate: probe.frame_rate,
    }
}

/// Now, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}
