/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vcam, KCAM's virtual camera: its pixel formats, test patterns, ISP parameter buffer and statistics buffer.
 *
 * The pipeline (vcam-sensor -> vcam-csi -> vcam-isp -> vcam-dma, see kcam.h for the entities and operations):
 *
 *   sensor  renders a test pattern (TEST_PATTERN) of WIDTH x HEIGHT as a 10-bit Bayer RGGB image under an
 *           illuminant (ILLUMINANT; the default, warm, gives the scene a colour cast), with a pedestal of
 *           BLACK_LEVEL (64), brightness proportional to EXPOSURE (us) x GAIN (16 = 1x) up to full scale (1023),
 *           and noise (read noise plus shot noise that grows with the signal and the gain). A white scene reaches
 *           full scale at 10000 us and 1x under the neutral illuminant.
 *   isp     applies its parameters (struct vcam_isp_params, sent with KCAM_OP_XFER_PARAM): subtracts the black
 *           level, multiplies by the white-balance gains, scales to 8 bits, demosaics (2x2 blocks), and measures
 *           struct vcam_stats on the frame.
 *   dma     writes the image in FORMAT into the buffer queued on vcam-dma and the statistics into the buffer
 *           queued on vcam-isp (KCAM_OP_QUEUE_BUFFER); each is announced by KCAM_EVENT_BUFFER_DONE with the frame
 *           number. The frame number is also stamped into the image (VCAM_STAMP_*).
 *
 * Settings written while streaming (exposure, gain, pattern, illuminant, ISP parameters) apply from the next
 * frame start; the statistics of a frame say which exposure, gain and ISP parameters it was taken with. WIDTH,
 * HEIGHT and FORMAT cannot change while streaming or while image buffers are queued (-EBUSY). A frame that starts
 * while the previous one is still being rendered is not rendered (FRAMES_DROPPED); its buffers stay queued.
 */
#ifndef _UAPI_LINUX_VCAM_H
#define _UAPI_LINUX_VCAM_H

#include <linux/types.h>

/* vcam-dma FORMAT: bytes per line (STRIDE) and per frame (FRAME_BYTES) are vcam-dma registers. */
#define VCAM_FMT_RGB24		0	/* R, G, B bytes per pixel */
#define VCAM_FMT_YUYV		1	/* Y0 U Y1 V per two pixels, BT.601 limited range */

/* Frame size: WIDTH a multiple of 32 in [64, 1920], HEIGHT a multiple of 8 in [48, 1080]. */
#define VCAM_WIDTH_MIN		64
#define VCAM_WIDTH_MAX		1920
#define VCAM_WIDTH_ALIGN	32
#define VCAM_HEIGHT_MIN		48
#define VCAM_HEIGHT_MAX		1080
#define VCAM_HEIGHT_ALIGN	8

/* vcam-sensor TEST_PATTERN */
#define VCAM_PATTERN_BARS	0	/* eight vertical bars: white, yellow, cyan, green, magenta, red, blue, black */
#define VCAM_PATTERN_GRADIENT	1	/* a grey ramp, black at the left to white at the right */
#define VCAM_PATTERN_BOX	2	/* a white square of HEIGHT/4 on 50 % grey, moving right by 8 pixels a frame */
#define VCAM_PATTERN_GREY	3	/* a uniform 50 % grey card */

/* vcam-sensor ILLUMINANT: the light the scene is lit by, as the sensor's raw R:G:B of a grey surface. */
#define VCAM_ILLUM_NEUTRAL	0	/* 1 : 1 : 1 */
#define VCAM_ILLUM_WARM		1	/* 1 : 0.75 : 0.45 (tungsten-like; the default) */
#define VCAM_ILLUM_COOL		2	/* 0.6 : 0.85 : 1 (shade-like) */

/* Raw sensor values: 10 bits, with a pedestal (the sensor's BLACK_LEVEL register). */
#define VCAM_RAW_MAX		1023
#define VCAM_PEDESTAL		64

/*
 * The frame-number stamp: the top VCAM_STAMP_ROWS lines of every image hold 32 cells of WIDTH / 32 pixels each,
 * the frame number's bits from the most significant, white (1) or black (0) in the upper half of the band and the
 * inverse in the lower half.
 */
#define VCAM_STAMP_ROWS		8
#define VCAM_STAMP_BITS		32

/*
 * KCAM_OP_XFER_PARAM to vcam-isp: a buffer of exactly this struct with version VCAM_PARAMS_V1 sets the ISP's
 * parameters from the next frame (an invalid one fails with -EINVAL and changes nothing). Any other bytes are
 * only counted (PARAMS_SEQ, PARAMS_LEN, PARAMS_SUM), to test the transfer itself. After reset: black level 0,
 * gains 1.0.
 */
#define VCAM_PARAMS_V1		0x31504356	/* "VCP1" */
#define VCAM_GAIN_ONE		256		/* wb_gain of 1.0 (Q8.8) */
#define VCAM_GAIN_MAX		4096		/* 16.0 */

struct vcam_isp_params {
	__u32 version;		/* VCAM_PARAMS_V1 */
	__u32 flags;		/* none defined yet: 0 */
	__u32 black_level;	/* subtracted from raw values, 0 .. VCAM_RAW_MAX */
	__u32 wb_gain[3];	/* R, G, B, Q8.8, 0 .. VCAM_GAIN_MAX */
	__u64 reserved[2];
};

/*
 * The statistics buffer (queued on vcam-isp), measured on each rendered frame: per cell of a VCAM_GRID_W x
 * VCAM_GRID_H grid the mean raw R, G, B after black level subtraction and before white balance (Q10.4: mean x 16;
 * G averages both green sites) and the number of 2x2 blocks with a saturated site; a histogram of the output's
 * luma (Y = (77 R + 150 G + 29 B) >> 8 of the 8-bit output, VCAM_HIST_BINS bins of 4 levels) over every 2x2
 * block. The frame stamp is not measured.
 */
#define VCAM_STATS_V1		0x31534356	/* "VCS1" */
#define VCAM_GRID_W		16
#define VCAM_GRID_H		12
#define VCAM_HIST_BINS		64

struct vcam_stats_cell {
	__u16 r;
	__u16 g;
	__u16 b;
	__u16 saturated;
};

struct vcam_stats {
	__u32 version;		/* VCAM_STATS_V1 */
	__u32 frame;		/* the sensor's FRAME_COUNT of the frame */
	__u32 width;
	__u32 height;
	__u32 exposure;		/* the sensor settings the frame was taken with */
	__u32 gain;
	__u32 black_level;	/* the ISP parameters applied to it */
	__u32 wb_gain[3];
	__u32 raw_sum;		/* sum of the raw values, modulo 2^32 (the ISP's STATS_SUM) */
	__u32 reserved0;
	__u32 hist[VCAM_HIST_BINS];
	struct vcam_stats_cell cells[VCAM_GRID_W * VCAM_GRID_H];
	__u64 reserved[2];
};

#endif /* _UAPI_LINUX_VCAM_H */
