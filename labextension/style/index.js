import './base.css';
import './jobs.css';
import './detail.css';
import './charts.css';
