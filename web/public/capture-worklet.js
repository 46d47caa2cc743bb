// Copies the microphone's samples (first channel) to the page, block by block.
class CaptureProcessor extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor("voxguard-capture", CaptureProcessor);
