import { Doughnut } from "react-chartjs-2";
import "./charts";
import { RISK_COLORS } from "./charts";

/** A half-circle gauge of the risk score (0-1), coloured by its level. */
export function RiskGauge({ score, level }: { score: number; level: string }) {
  const color = RISK_COLORS[level] ?? "#555";
  return (
    <div className="gauge" role="img" aria-label={`Risk ${Math.round(score * 100)} of 100, ${level}`}>
      <Doughnut
        data={{
          labels: ["risk", ""],
          datasets: [
            {
              data: [score, Math.max(0, 1 - score)],
              backgroundColor: [color, "#e4e7ee"],
              borderWidth: 0,
            },
          ],
        }}
        options={{
          rotation: -90,
          circumference: 180,
          cutout: "70%",
          animation: false,
          plugins: { legend: { display: false }, tooltip: { enabled: false } },
        }}
      />
      <div className="gauge-value" style={{ color }}>
        <strong>{Math.round(score * 100)}</strong>
        <span>{level}</span>
      </div>
    </div>
  );
}
