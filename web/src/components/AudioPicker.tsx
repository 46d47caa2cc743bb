import { useId, useState, type DragEvent } from "react";
import { Recorder } from "./Recorder";

/** Files by drag and drop, the file picker or the microphone. */
export function AudioPicker(props: {
  multiple?: boolean;
  label?: string;
  onFiles: (files: File[]) => void;
}) {
  const id = useId();
  const [over, setOver] = useState(false);

  function drop(event: DragEvent) {
    event.preventDefault();
    setOver(false);
    const files = Array.from(event.dataTransfer.files);
    if (files.length) props.onFiles(props.multiple ? files : files.slice(0, 1));
  }

  return (
    <div className="picker">
      <div
        className={`dropzone${over ? " over" : ""}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={drop}
        data-testid="dropzone"
      >
        <label htmlFor={id}>
          {props.label ?? (props.multiple ? "Drop recordings here or choose files" : "Drop a recording here or choose a file")}
        </label>
        <input
          id={id}
          type="file"
          accept="audio/*,.wav,.flac,.mp3,.ogg,.opus,.webm,.m4a"
          multiple={props.multiple}
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = "";
            if (files.length) props.onFiles(files);
          }}
        />
      </div>
      <Recorder onRecorded={(file) => props.onFiles([file])} />
    </div>
  );
}
