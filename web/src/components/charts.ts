// Chart.js, registered once with only the parts the pages use.
import {
  ArcElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  BarElement,
} from "chart.js";

Chart.register(
  ArcElement,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
);

export const RISK_COLORS: Record<string, string> = {
  LOW: "#1f7a3a",
  MEDIUM: "#a15c00",
  HIGH: "#b3261e",
};
