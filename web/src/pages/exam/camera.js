// Camera helpers of the exam and phone pages: open a camera, grab a JPEG.

/** Open a camera ('user' front, 'environment' rear); throws a Chinese message. */
export async function openCamera(facingMode) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('当前浏览器不支持调用摄像头（须通过 HTTPS 访问），请更换浏览器。');
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      video: { facingMode, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
  } catch (e) {
    if (e && e.name === 'NotAllowedError') throw new Error('摄像头权限被拒绝，请在浏览器设置中允许本网站使用摄像头后刷新页面。');
    throw new Error('未检测到可用的摄像头，请检查摄像头连接后刷新页面。');
  }
}

export function stopCamera(stream) {
  stream?.getTracks().forEach((t) => t.stop());
}

/**
 * The current frame of a playing <video> as a JPEG File, at most maxWidth
 * wide (snapshots stay well under the server's image size limit).
 */
export function grabFrame(video, name, maxWidth = 800) {
  return new Promise((resolve, reject) => {
    if (!video || !video.videoWidth) {
      reject(new Error('摄像头画面尚未就绪'));
      return;
    }
    const scale = Math.min(1, maxWidth / video.videoWidth);
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(
      (blob) => (blob ? resolve(new File([blob], `${name}-${Date.now()}.jpg`, { type: 'image/jpeg' })) : reject(new Error('拍照失败'))),
      'image/jpeg',
      0.8,
    );
  });
}
