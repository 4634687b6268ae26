// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of vcam's frame pipeline (`vcam_pipeline.rs`) driven step by step: the test starts and ends frames
//! itself (the frame generator's timer does in vcam) and waits for the render work, so every step happens at a
//! known point. The buffers are dma-bufs of the module's own (`MappedDmaBuf::new_for_test`).

use kernel::prelude::*;

#[kunit_tests(kcam_pipeline)]
mod tests {
    use crate::{
        buffer::{Buffer, Buffers},
        dmabuf::MappedDmaBuf,
        events::{EventHub, FileEvents},
        limits::{Budget, Limits},
        shared::{
            frame::{IspConfig, SensorConfig},
            uapi::EventType,
            vcam_uapi as v,
        },
        vcam_pipeline::{Entities, FrameSetup, Pipeline, Sink},
        waker::Waker,
    };
    use kernel::{prelude::*, sync::Arc};

    /// The DMA writer and the ISP: (index, id), as in vcam.
    const DMA: (usize, u32) = (3, 4);
    const ISP: (usize, u32) = (2, 3);
    const W: u32 = 64;
    const H: u32 = 48;
    /// The importing file's id.
    const OWNER: u64 = 1;

    /// A pipeline, one file subscribed to BUFFER_DONE of the DMA writer, and that file's buffers.
    struct Rig {
        hub: Arc<EventHub>,
        file: Arc<FileEvents>,
        budget: Arc<Budget>,
        buffers: Buffers,
        pipeline: Arc<Pipeline>,
    }

    impl Rig {
        fn new() -> Result<Self> {
            let hub = EventHub::new(4, 2, Waker::new()?)?;
            let file = hub.open()?;
            hub.subscribe(&file, DMA.0, EventType::BufferDone as u32, true)?;
            let pipeline = Pipeline::new(hub.clone(), Entities { dma: DMA, isp: ISP })?;
            Ok(Self {
                hub,
                file,
                budget: Budget::new(Limits::new(8, 64, 2, 8, 100)?)?,
                buffers: Buffers::new(),
                pipeline,
            })
        }

        /// A new image buffer of the file, large enough for a frame.
        fn import(&mut self) -> Result<Arc<Buffer>> {
            let size = (W * H * 3) as usize;
            self.buffers.add(
                MappedDmaBuf::new_for_test(size)?,
                OWNER,
                DMA.0,
                self.file.clone(),
                self.budget.take_buffer()?,
            )
        }

        /// Frame `frame` starts and is rendered (the render work has finished); it has not ended.
        fn render(&self, frame: u32) {
            let setup = FrameSetup {
                sensor: SensorConfig {
                    width: W,
                    height: H,
                    pattern: v::PATTERN_GREY,
                    illuminant: v::ILLUM_NEUTRAL,
                    exposure: 8000,
                    gain: 16,
                    frame,
                },
                isp: IspConfig::RESET,
                format: v::FMT_RGB24,
            };
            self.pipeline.frame_start(setup);
            self.pipeline.flush();
        }

        /// The BUFFER_DONE events the file got since the last call: (frame, handle, status).
        fn buffer_dones(&self) -> Result<KVec<(u64, u64, i32)>> {
            let mut seen = KVec::new();
            while self.file.has_events() {
                self.file.dequeue(|e| {
                    if e.event == EventType::BufferDone as u32 {
                        seen.push((e.data[0], e.data[1], e.status), GFP_KERNEL)?;
                    }
                    Ok(())
                })?;
            }
            Ok(seen)
        }

        fn close(self) {
            self.pipeline.shutdown();
            self.hub.close(&self.file);
        }
    }

    fn is(buf: &Arc<Buffer>) -> impl Fn(&Buffer) -> bool + '_ {
        move |b| core::ptr::eq(b, &**buf)
    }

    /// A buffer rendered into is in flight until its frame ends and it is announced: queueing it again before is
    /// `EALREADY` (it would be written for the next frame while its file reads it for this one).
    #[test]
    fn rendered_buffer_is_in_flight_until_announced() -> Result {
        let mut rig = Rig::new()?;
        let b = rig.import()?;
        let h = u64::from(b.handle);
        assert_eq!(rig.pipeline.queue(Sink::Image, &b), Ok(1));
        rig.render(1);
        assert_eq!(rig.buffer_dones()?.len(), 0);
        if rig.pipeline.queue(Sink::Image, &b) != Err(EALREADY) {
            pr_err!("kcam_pipeline: a buffer waiting for its frame end was queued again\n");
        }
        assert_eq!(rig.pipeline.queue(Sink::Image, &b), Err(EALREADY));
        rig.pipeline.frame_end();
        assert_eq!(&rig.buffer_dones()?[..], &[(1, h, 0)]);
        // Announced: the file has it back and may queue it again.
        assert_eq!(rig.pipeline.queue(Sink::Image, &b), Ok(1));
        rig.close();
        Ok(())
    }

    /// A buffer rendered into and taken back before its frame ended (`CANCEL_BUFFER`, release) was in flight, and
    /// is not announced at the frame's end: after the cancel returned, no BUFFER_DONE of that frame comes for it.
    /// With `announce` (reset), it gets BUFFER_DONE with the cancel's status at once, and nothing at the end.
    #[test]
    fn taken_back_before_frame_end_is_not_announced() -> Result {
        let mut rig = Rig::new()?;
        let b = rig.import()?;
        let h = u64::from(b.handle);
        // CANCEL_BUFFER, then QUEUE_BUFFER again, before the frame's end.
        assert_eq!(rig.pipeline.queue(Sink::Image, &b), Ok(1));
        rig.render(1);
        let was_queued = rig.pipeline.cancel(&is(&b), None);
        assert_eq!(rig.pipeline.queue(Sink::Image, &b), Ok(1));
        rig.pipeline.frame_end();
        let dones = rig.buffer_dones()?;
        if !dones.is_empty() {
            pr_err!(
                "kcam_pipeline: BUFFER_DONE of frame {} (status {}) after the buffer was taken back\n",
                dones[0].0,
                dones[0].2
            );
        }
        assert_eq!(dones.len(), 0);
        assert!(was_queued);
        // Queued again: written for the next frame, announced once.
        rig.render(2);
        rig.pipeline.frame_end();
        assert_eq!(&rig.buffer_dones()?[..], &[(2, h, 0)]);

        // RELEASE_BUFFER (marked released, then taken back): nothing for the released handle, ever.
        let c = rig.import()?;
        assert_eq!(rig.pipeline.queue(Sink::Image, &c), Ok(1));
        rig.render(3);
        c.release();
        assert!(rig.pipeline.cancel(&is(&c), None));
        rig.pipeline.frame_end();
        assert_eq!(rig.buffer_dones()?.len(), 0);
        assert_eq!(rig.pipeline.queue(Sink::Image, &c), Err(ENOENT));

        // Reset's cancel (announcing): BUFFER_DONE -ECANCELED for that frame at once, nothing at its end.
        assert_eq!(rig.pipeline.queue(Sink::Image, &b), Ok(1));
        rig.render(4);
        assert!(rig.pipeline.cancel(&|_| true, Some(ECANCELED)));
        assert_eq!(&rig.buffer_dones()?[..], &[(4, h, ECANCELED.to_errno())]);
        rig.pipeline.frame_end();
        assert_eq!(rig.buffer_dones()?.len(), 0);
        rig.close();
        Ok(())
    }
}
