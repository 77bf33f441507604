// No WebRTC in Node for the webtorrent baseline: simple-peer sees no RTCPeerConnection (WEBRTC_SUPPORT false).
export const RTCPeerConnection = undefined
export const RTCSessionDescription = undefined
export const RTCIceCandidate = undefined
export default {}
